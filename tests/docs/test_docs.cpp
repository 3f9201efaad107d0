// tests/docs/test_docs.cpp - the docs and comments cannot drift from the repository.
//
// Four checks over the source tree (include/, examples/, tests/, bench/, tools/, docs/, .ci/,
// README.md, CMakeLists.txt), each a test case that lists every offending place:
//   1. no comment, page or script cites a document outside the repository (the project's loss or
//      reproduction specification, its guides, its performance brief): readers cannot open those,
//      so a citation names a docs/ page section or the paper;
//   2. every Markdown file named exists, every section named as docs/<page>.md, "Heading" exists, and
//      every link of a docs page (file and #anchor) resolves;
//   3. the layer table of docs/design.md is the include graph: every library header sits in one row,
//      and a header includes only headers of a lower layer or of its own row;
//   4. every row of docs/autodiff.md's derivative table points (file:line) at a line of that op's
//      backward that names the op (ops/ or kernels/), and every op recorded in include/cringe/ops/ has a row.
// No Python, no network: std::filesystem and std::regex only.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace {

namespace fs = std::filesystem;

const fs::path kRepo = fs::path(CRINGE_SOURCE_DIR);

/// One scanned text file: its path relative to the repository root and its lines.
struct TextFile {
    std::string rel;
    std::vector<std::string> lines;
};

std::vector<std::string> read_lines(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<std::string> lines;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        lines.push_back(line);
    }
    return lines;
}

bool is_text(const fs::path& path) {
    static const std::set<std::string> data_extensions = {".png", ".svg", ".json", ".safetensors", ".bin", ".gz", ".jpg"};
    if (data_extensions.count(path.extension().string())) return false;
    std::ifstream in(path, std::ios::binary);
    char c = 0;
    for (int i = 0; i < 4096 && in.get(c); ++i)
        if (c == '\0') return false;
    return true;
}

/// The files a reader reads: sources, scripts, CMake, docs. Data folders (fixtures, fuzz corpora) are
/// left out.
std::vector<TextFile> scanned_files() {
    static const std::vector<std::string> skipped_folders = {
        "tests/fuzz/corpus", "tests/reference/gpt2_tiny", "tests/reference/hf_gpt2_tiny",
        "tests/reference/hf_tokenizer", "tests/reference/hf_tokenizer_saved"};
    std::vector<TextFile> files;
    auto add = [&files](const fs::path& path) {
        if (!is_text(path)) return;
        files.push_back({fs::relative(path, kRepo).generic_string(), read_lines(path)});
    };
    for (const char* root : {"include", "examples", "tests", "bench", "tools", "docs", ".ci"}) {
        for (auto it = fs::recursive_directory_iterator(kRepo / root); it != fs::recursive_directory_iterator(); ++it) {
            const std::string rel = fs::relative(it->path(), kRepo).generic_string();
            if (it->is_directory()) {
                const std::string name = it->path().filename().string();
                if (std::find(skipped_folders.begin(), skipped_folders.end(), rel) != skipped_folders.end() ||
                    name.front() == '.' || name == "__pycache__")
                    it.disable_recursion_pending();
                continue;
            }
            if (it->is_regular_file()) add(it->path());
        }
    }
    add(kRepo / "README.md");
    add(kRepo / "CMakeLists.txt");
    std::sort(files.begin(), files.end(), [](const TextFile& a, const TextFile& b) { return a.rel < b.rel; });
    return files;
}

const std::vector<TextFile>& all_files() {
    static const std::vector<TextFile> files = scanned_files();
    return files;
}

/// A Markdown heading: its text (without the #'s) and its GitHub anchor.
struct Heading {
    std::string text;
    std::string anchor;
};

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string::npos) return "";
    const auto e = s.find_last_not_of(" \t");
    return s.substr(b, e - b + 1);
}

std::string without_backticks(std::string s) {
    s.erase(std::remove(s.begin(), s.end(), '`'), s.end());
    return s;
}

/// GitHub's anchor of a heading: lower case, every character but letters, digits, spaces, '-' and '_'
/// dropped, spaces made '-'; a repeated heading gets -1, -2, ...
std::string github_anchor(const std::string& text) {
    std::string out;
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) || c == '-' || c == '_') out += static_cast<char>(std::tolower(c));
        else if (c == ' ') out += '-';
    }
    return out;
}

std::vector<Heading> headings_of(const fs::path& page) {
    std::vector<Heading> out;
    std::map<std::string, int> seen;
    bool in_code = false;
    static const std::regex heading(R"(^(#{1,6})\s+(.*?)\s*#*\s*$)");
    for (const std::string& line : read_lines(page)) {
        const std::string t = trim(line);
        if (t.rfind("```", 0) == 0 || t.rfind("~~~", 0) == 0) in_code = !in_code;
        std::smatch m;
        if (in_code || !std::regex_match(line, m, heading)) continue;
        std::string anchor = github_anchor(m[2].str());
        const int n = seen[anchor]++;
        if (n > 0) anchor += "-" + std::to_string(n);
        out.push_back({m[2].str(), anchor});
    }
    return out;
}

/// The lines of a page between the heading that starts with `title` and the next heading of the
/// same or a higher level.
std::vector<std::string> section_lines(const fs::path& page, const std::string& title) {
    std::vector<std::string> out;
    std::size_t level = 0;
    for (const std::string& line : read_lines(page)) {
        const std::size_t hashes = line.find_first_not_of('#');
        const bool is_heading = hashes != std::string::npos && hashes > 0 && line[hashes] == ' ';
        if (level > 0 && is_heading && hashes <= level) break;
        if (level > 0) out.push_back(line);
        if (level == 0 && is_heading && trim(line.substr(hashes)).rfind(title, 0) == 0) level = hashes;
    }
    return out;
}

std::vector<std::string> table_cells(const std::string& row) {
    std::vector<std::string> cells;
    std::string cell;
    std::istringstream in(row);
    while (std::getline(in, cell, '|')) cells.push_back(trim(cell));
    if (!cells.empty() && cells.front().empty()) cells.erase(cells.begin());
    return cells;
}

std::vector<std::string> backticked(const std::string& cell) {
    static const std::regex code("`([^`]+)`");
    std::vector<std::string> out;
    for (std::sregex_iterator it(cell.begin(), cell.end(), code), end; it != end; ++it) out.push_back((*it)[1].str());
    return out;
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& s : items) out += s + "\n";
    return out;
}

bool is_file(const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec);
}

// ---------------------------------------------------------------------------------------------------
// 1. Citations of documents outside the repository
// ---------------------------------------------------------------------------------------------------

/// A pattern that marks a citation of a document a reader of the repository cannot open.
struct ForbiddenCitation {
    std::regex pattern;
    std::string why;
};

const std::vector<ForbiddenCitation>& forbidden_citations() {
    using std::regex_constants::icase;
    static const std::vector<ForbiddenCitation> patterns = {
        {std::regex(R"(\bspec/[\w.-]+)", icase), "a path into the specification folder"},
        {std::regex(R"(\bguides?/|\bguides?:)", icase), "the guides"},
        // (the separators are written as [/] and [ ] so that this line does not itself read as a citation)
        {std::regex(R"(\bshared[/](spec|guides|reference)\b|\.\.[/]shared\b|\bshared[ ](spec|reference|guides?|folder)\b)", icase),
         "the shared folder"},
        {std::regex(R"(perf-baseline|torch_gpt_bench)", icase), "the performance brief or its script"},
        {std::regex(R"(\bspec(ification)?('s)?,? (section |sections |ambiguity |decision )?\d)", icase),
         "a numbered section of the specification"},
        {std::regex(R"(\.md,? (section |sections |decision |lesson |ambiguity )\d|\.md,? \d+\.\d)", icase),
         "a numbered section of a page (docs/ pages are cited by their heading in quotes)"},
        {std::regex(R"(\bsection \d+(\.\d+)? of `?[\w./-]+\.md)", icase), "a numbered section of a page"},
    };
    return patterns;
}

/// Lines that mention the outside world without citing it, each with its reason.
bool allowed_mention(const std::string& rel, const std::string& line) {
    // compare_pytorch runs a PyTorch script that is not in the repository; these lines are the
    // defaults of the environment variables that locate it (an input path, not a citation).
    if (rel == "bench/compare_pytorch")
        return line.find("CRINGE_SHARED_DIR") != std::string::npos || line.find("CRINGE_TORCH_BENCH") != std::string::npos;
    return false;
}

/// Markdown names that are outputs of the programs, not pages (cringe-repro writes them).
const std::set<std::string> kOutputNames = {"results.md", "samples.md"};

}  // namespace

TEST_CASE("docs: no comment, page or script cites a document outside the repository", "[docs][citations]") {
    const std::string self = "tests/docs/test_docs.cpp";  // spells the patterns out
    std::vector<std::string> problems;
    std::size_t files = 0;
    for (const TextFile& f : all_files()) {
        if (f.rel == self) continue;
        ++files;
        for (std::size_t i = 0; i < f.lines.size(); ++i) {
            const std::string& line = f.lines[i];
            if (allowed_mention(f.rel, line)) continue;
            for (const ForbiddenCitation& c : forbidden_citations())
                if (std::regex_search(line, c.pattern))
                    problems.push_back(f.rel + ":" + std::to_string(i + 1) + ": cites " + c.why + ": " + trim(line));
        }
    }
    INFO("cite a section of docs/ (docs/<page>.md, \"Heading\") or the paper, and restate what a reader needs:\n" << join(problems));
    CHECK(files > 100);  // the walk found the tree
    CHECK(problems.empty());
}

TEST_CASE("docs: every Markdown page, section and link named exists", "[docs][citations]") {
    static const std::regex md_name(R"((https?://\S+)|([\w./-]*[\w-]\.md)\b)");
    // docs/<page>.md, "Heading"   docs/<page>.md ("Heading"   docs/<page>.md, section "Heading"   docs/<page>.md#anchor
    static const std::regex named_section(R"re(\b(docs/[\w/-]+\.md)(?:,? \(?(?:section )?"([^"]+)"|#([\w-]+)))re");
    static const std::regex md_link(R"(\]\(([^()\s]*)\))");
    std::vector<std::string> problems;
    std::size_t sections = 0, links = 0;
    std::map<fs::path, std::vector<Heading>> heading_cache;
    auto headings = [&heading_cache](const fs::path& page) -> const std::vector<Heading>& {
        auto it = heading_cache.find(page);
        if (it == heading_cache.end()) it = heading_cache.emplace(page, headings_of(page)).first;
        return it->second;
    };
    auto has_heading = [&](const fs::path& page, const std::string& title) {
        for (const Heading& h : headings(page))
            if (h.text.rfind(title, 0) == 0 || without_backticks(h.text).rfind(without_backticks(title), 0) == 0) return true;
        return false;
    };
    auto has_anchor = [&](const fs::path& page, const std::string& anchor) {
        for (const Heading& h : headings(page))
            if (h.anchor == anchor) return true;
        return false;
    };
    for (const TextFile& f : all_files()) {
        const fs::path dir = (kRepo / f.rel).parent_path();
        const bool markdown = fs::path(f.rel).extension() == ".md";
        // Pages named anywhere in the file.
        for (std::size_t i = 0; i < f.lines.size(); ++i) {
            const std::string& line = f.lines[i];
            for (std::sregex_iterator it(line.begin(), line.end(), md_name), end; it != end; ++it) {
                if ((*it)[1].matched) continue;  // a URL
                const std::string name = (*it)[2].str();
                if (kOutputNames.count(name)) continue;
                const bool found = is_file(kRepo / name) || is_file(dir / name) || is_file(kRepo / "docs" / name) ||
                                   is_file(kRepo / "docs" / "reproduction" / name);
                if (!found) problems.push_back(f.rel + ":" + std::to_string(i + 1) + ": no file " + name + " in the repository");
            }
        }
        // Sections named as docs/<page>.md, "Heading" (which may wrap onto the next comment line).
        std::string text;
        for (const std::string& line : f.lines) {
            static const std::regex comment_start(R"(^\s*(///|//|#|\*|--)?\s*)");
            text += std::regex_replace(line, comment_start, "") + " ";
        }
        for (std::sregex_iterator it(text.begin(), text.end(), named_section), end; it != end; ++it) {
            ++sections;
            const fs::path page = kRepo / (*it)[1].str();
            if (!is_file(page)) continue;  // reported above
            if ((*it)[2].matched && !has_heading(page, (*it)[2].str()))
                problems.push_back(f.rel + ": " + (*it)[1].str() + " has no section \"" + (*it)[2].str() + "\"");
            if ((*it)[3].matched && !has_anchor(page, (*it)[3].str()))
                problems.push_back(f.rel + ": " + (*it)[1].str() + " has no anchor #" + (*it)[3].str());
        }
        // Links of Markdown pages: the target file and its anchor.
        if (!markdown) continue;
        bool in_code = false;
        for (std::size_t i = 0; i < f.lines.size(); ++i) {
            const std::string& line = f.lines[i];
            const std::string t = trim(line);
            if (t.rfind("```", 0) == 0) in_code = !in_code;
            if (in_code) continue;
            for (std::sregex_iterator it(line.begin(), line.end(), md_link), end; it != end; ++it) {
                const std::string target = (*it)[1].str();
                if (target.empty() || target.find("://") != std::string::npos || target.rfind("mailto:", 0) == 0) continue;
                ++links;
                const auto hash = target.find('#');
                const std::string file = target.substr(0, hash);
                const std::string anchor = hash == std::string::npos ? "" : target.substr(hash + 1);
                const fs::path path = file.empty() ? kRepo / f.rel : (dir / file).lexically_normal();
                const std::string where = f.rel + ":" + std::to_string(i + 1) + ": link " + target;
                std::error_code ec;
                if (!fs::exists(path, ec)) problems.push_back(where + ": no such file");
                else if (!anchor.empty() && path.extension() == ".md" && !has_anchor(path, anchor))
                    problems.push_back(where + ": no heading with that anchor");
            }
        }
    }
    INFO(join(problems));
    CHECK(sections > 20);
    CHECK(links > 20);
    CHECK(problems.empty());
}

// ---------------------------------------------------------------------------------------------------
// 3. The layer table of docs/design.md against the include graph
// ---------------------------------------------------------------------------------------------------

namespace {

/// One row of the layer table: its layer number, its name and the headers it names (files like
/// `tape.hpp` or `io/json_file.hpp`, folders like `ops/`, relative to include/cringe/). Rows whose
/// layer is not a number (the programs) are outside the library and not read.
struct LayerRow {
    int layer = 0;
    std::string name;
    std::vector<std::string> entries;
};

std::vector<LayerRow> layer_table() {
    std::vector<LayerRow> rows;
    for (const std::string& line : section_lines(kRepo / "docs" / "design.md", "Layers")) {
        if (line.rfind("|", 0) != 0) continue;
        const auto cells = table_cells(line);
        if (cells.size() < 3 || cells[0].empty() || !std::isdigit(static_cast<unsigned char>(cells[0][0]))) continue;
        LayerRow row{std::stoi(cells[0]), cells[1], {}};
        // The headers are the code spans before the first parenthesis; the parenthesis describes them.
        for (const std::string& token : backticked(cells[2].substr(0, cells[2].find('('))))
            if (token.back() == '/' || fs::path(token).extension() == ".hpp") row.entries.push_back(token);
        rows.push_back(row);
    }
    return rows;
}

/// The row of a header (relative to include/cringe/): an entry naming the file beats a folder entry.
const LayerRow* row_of(const std::vector<LayerRow>& rows, const std::string& header) {
    const LayerRow* best = nullptr;
    std::size_t best_length = 0;
    for (const LayerRow& row : rows)
        for (const std::string& e : row.entries) {
            const bool match = e.back() == '/' ? header.rfind(e, 0) == 0 : header == e;
            if (match && e.size() > best_length) {
                best = &row;
                best_length = e.size();
            }
        }
    return best;
}

}  // namespace

TEST_CASE("docs: design.md's layer table is the include graph, with no upward include", "[docs][layers]") {
    const fs::path lib = kRepo / "include" / "cringe";
    const std::vector<LayerRow> rows = layer_table();
    REQUIRE(rows.size() >= 5);
    std::vector<std::string> problems;
    for (const LayerRow& row : rows)
        for (const std::string& e : row.entries)
            if (!fs::exists(lib / e)) problems.push_back("the table names " + e + " (row " + row.name + "), which is not in include/cringe/");
    static const std::regex include_line(R"(^\s*#\s*include\s*([<"])([^>"]+)[>"])");
    std::size_t edges = 0;
    for (const auto& entry : fs::recursive_directory_iterator(lib)) {
        if (!entry.is_regular_file() || entry.path().extension() != ".hpp") continue;
        const std::string header = fs::relative(entry.path(), lib).generic_string();
        const LayerRow* from = row_of(rows, header);
        if (!from) {
            problems.push_back(header + " is in no row of the layer table");
            continue;
        }
        const auto lines = read_lines(entry.path());
        for (std::size_t i = 0; i < lines.size(); ++i) {
            std::smatch m;
            if (!std::regex_search(lines[i], m, include_line)) continue;
            fs::path target;
            if (m[1] == "\"") target = (entry.path().parent_path() / m[2].str()).lexically_normal();
            else if (m[2].str().rfind("cringe/", 0) == 0) target = (kRepo / "include" / m[2].str()).lexically_normal();
            else continue;  // a standard or third-party header
            const std::string where = "include/cringe/" + header + ":" + std::to_string(i + 1);
            const std::string rel = fs::relative(target, lib).generic_string();
            if (rel.rfind("..", 0) == 0) {
                problems.push_back(where + " includes " + m[2].str() + ", outside the library");
                continue;
            }
            const LayerRow* to = row_of(rows, rel);
            if (!to) continue;  // reported for that header
            ++edges;
            if (to != from && to->layer >= from->layer)
                problems.push_back(where + ": " + header + " (layer " + std::to_string(from->layer) + ", " + from->name + ") includes " +
                                   rel + " (layer " + std::to_string(to->layer) + ", " + to->name + ")");
        }
    }
    INFO("a header includes only headers of a lower layer or of its own row (docs/design.md, \"Layers\"):\n" << join(problems));
    CHECK(edges > 50);
    CHECK(problems.empty());
}

// ---------------------------------------------------------------------------------------------------
// 4. The derivative table of docs/autodiff.md
// ---------------------------------------------------------------------------------------------------

TEST_CASE("docs: autodiff.md's derivative table points at each op's backward, and lists every op", "[docs][autodiff]") {
    const fs::path ops = kRepo / "include" / "cringe" / "ops";
    static const std::regex location(R"(^((?:ops/|kernels/)?[\w]+\.hpp):(\d+)$)");
    std::vector<std::string> problems;
    std::set<std::string> listed;
    std::size_t rows = 0;
    for (const std::string& line : section_lines(kRepo / "docs" / "autodiff.md", "Derivative table")) {
        if (line.rfind("|", 0) != 0) continue;
        const auto cells = table_cells(line);
        if (cells.size() < 4) continue;
        const auto names = backticked(cells[0]);
        const auto places = backticked(cells.back());
        if (names.empty() || places.empty()) continue;  // the header row
        ++rows;
        std::smatch m;
        if (!std::regex_match(places[0], m, location)) {
            problems.push_back("row " + names[0] + ": '" + places[0] + "' is not ops/file.hpp:line or kernels/file.hpp:line");
            continue;
        }
        const fs::path file = kRepo / "include" / "cringe" / m[1].str();
        const auto lines = read_lines(file);
        const std::size_t n = std::stoul(m[2].str());
        if (n == 0 || n > lines.size()) {
            problems.push_back("row " + names[0] + ": " + places[0] + " is not a line of include/cringe/" + m[1].str());
            continue;
        }
        for (const std::string& name : names) {
            listed.insert(name);
            const std::regex word("\\b" + name + "\\b", std::regex_constants::icase);
            if (!std::regex_search(lines[n - 1], word))
                problems.push_back("row " + name + ": line " + places[0] + " does not mention " + name + ": " + trim(lines[n - 1]));
        }
    }
    // Every op name recorded on the tape by include/cringe/ops/ (record("name", ...), the unary
    // table's name = "...", the softmax family's names) has a row.
    static const std::regex recorded(R"re(record\("(\w+)"|name = "(\w+)"|softmax_family<[^>]*>\([^;]*"(\w+)")re");
    std::set<std::string> ops_recorded;
    for (const auto& entry : fs::directory_iterator(ops)) {
        const auto lines = read_lines(entry.path());
        for (const std::string& line : lines)
            for (std::sregex_iterator it(line.begin(), line.end(), recorded), end; it != end; ++it)
                for (std::size_t g = 1; g <= 3; ++g)
                    if ((*it)[g].matched) ops_recorded.insert((*it)[g].str());
    }
    for (const std::string& op : ops_recorded)
        if (!listed.count(op)) problems.push_back("op " + op + " is recorded in include/cringe/ops/ but has no row");
    INFO(join(problems));
    CHECK(rows >= 25);
    CHECK(ops_recorded.size() >= 25);
    CHECK(problems.empty());
}

// CTest learns the test names from `catch_discover_tests`, which passes them through a CMake list: a
// name with an unbalanced '[' or ']' swallows the ';' separators after it, and the test cases that
// follow silently merge into one CTest entry (it happened: 37 tests of math_tests vanished behind
// "below(n) stays in [0, n)"). CTest then runs each test as `program "<name>"`, so a name that
// starts with '-' reaches Catch as an option and fails ("Unrecognised token") although the test
// passes (it happened: "--negative-tokens first keeps ...").
TEST_CASE("docs: no test case name has unbalanced square brackets or starts with a dash (CTest could not run it)", "[docs][tests]") {
    const std::regex test_case_name(R"re(TEST_CASE\("((?:[^"\\]|\\.)*)")re");
    std::vector<std::string> problems;
    std::size_t names = 0;
    for (const TextFile& f : all_files()) {
        if (f.rel.rfind("tests/", 0) != 0 || f.rel.size() < 4 || f.rel.substr(f.rel.size() - 4) != ".cpp") continue;
        for (std::size_t i = 0; i < f.lines.size(); ++i) {
            std::smatch m;
            if (!std::regex_search(f.lines[i], m, test_case_name)) continue;
            ++names;
            const std::string name = m[1].str();
            long depth = 0;
            bool balanced = true;
            for (char c : name) {
                depth += c == '[' ? 1 : c == ']' ? -1 : 0;
                if (depth < 0) balanced = false;
            }
            if (!balanced || depth != 0 || (!name.empty() && name[0] == '-'))
                problems.push_back(f.rel + ":" + std::to_string(i + 1) + ": \"" + name + "\"");
        }
    }
    INFO("rephrase these test names without unbalanced brackets or a leading dash:\n" << join(problems));
    CHECK(names > 200);  // the scan found the test cases
    CHECK(problems.empty());
}
