// cringe/io/atomic_file.hpp - whole-file reads, and whole-file writes that never leave a partial file.
//
// A checkpoint overwritten in place can be left half-written by a crash or a full disk, and then the
// previous good checkpoint is lost as well. write_file_atomically lets a reader see either the old
// file or the complete new one, nothing in between:
//   1. the bytes go to a fresh temporary file in the SAME directory (rename is atomic only within
//      one filesystem), named after the target, the pid and a counter, created with O_EXCL;
//   2. the temporary is fsynced, so its contents are on disk before its name is;
//   3. it is renamed over the target (atomic replace on POSIX);
//   4. the directory is fsynced, so the rename itself survives a power cut.
// Any failure before the rename removes the temporary and throws IoError naming the path and the
// system's reason. A symlink at `path` is replaced by the new file; its target is left alone.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "../error.hpp"

namespace cringe::io {
namespace detail {

/// The system's text for an errno value ("No such file or directory").
inline std::string errno_message(int err) { return std::generic_category().message(err); }

/// Owns a POSIX file descriptor; closes it on scope exit unless close() was called explicitly
/// (explicit close matters when writing: on some filesystems close reports deferred write errors).
class FileDescriptor {
public:
    explicit FileDescriptor(int fd) : fd_(fd) {}
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    ~FileDescriptor() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }
    /// Closes now; returns 0 or the errno of a failed close.
    int close() {
        const int rc = ::close(fd_);
        fd_ = -1;
        return rc == 0 ? 0 : errno;
    }

private:
    int fd_;
};

/// Writes all of `bytes`, retrying short writes and EINTR; returns 0 or the errno of the failure.
inline int write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return 0;
}

/// ".model.safetensors.tmp.<pid>.<n>": hidden, so globs over the directory do not pick it up.
inline std::filesystem::path temporary_sibling(const std::filesystem::path& target) {
    static std::atomic<unsigned long> counter{0};
    return target.parent_path() /
           cat(".", target.filename().string(), ".tmp.", ::getpid(), ".", counter.fetch_add(1));
}

/// Deletes a temporary file when the write is abandoned (exception or early return).
class TemporaryFileGuard {
public:
    explicit TemporaryFileGuard(std::filesystem::path p) : path_(std::move(p)) {}
    TemporaryFileGuard(const TemporaryFileGuard&) = delete;
    TemporaryFileGuard& operator=(const TemporaryFileGuard&) = delete;
    ~TemporaryFileGuard() {
        if (!path_.empty()) ::unlink(path_.c_str());
    }
    /// The temporary has become the target: nothing to remove any more.
    void release() { path_.clear(); }

private:
    std::filesystem::path path_;
};

}  // namespace detail

/// Replaces the file at `path` with `bytes` atomically (see the top of this header).
/// Throws IoError "write_file_atomically: <path>: <step>: <system reason>" on any failure.
inline void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
    // errno is copied into `err` right after each failing call, before building the message
    // (which allocates, and allocation may change errno).
    const auto fail = [&](int err, const std::string& step) {
        return IoError(cat("write_file_atomically: ", path.string(), ": ", step, ": ", detail::errno_message(err)));
    };
    if (!path.has_filename())
        throw IoError(cat("write_file_atomically: ", path.string(), ": not a file name (ends in a separator)"));

    // 1. Create the temporary. O_EXCL guarantees we never write into someone else's file; a name
    //    left behind by an earlier crashed process with the same pid is skipped.
    std::filesystem::path tmp;
    int fd = -1;
    for (int attempt = 0; fd < 0; ++attempt) {
        tmp = detail::temporary_sibling(path);
        fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0) {
            const int err = errno;
            if (err != EEXIST || attempt >= 100) throw fail(err, cat("cannot create temporary file ", tmp.string()));
        }
    }
    detail::FileDescriptor file(fd);
    detail::TemporaryFileGuard guard(tmp);

    // 2. Fill it and force it to disk.
    if (const int err = detail::write_all(file.get(), bytes)) throw fail(err, cat("cannot write ", tmp.string()));
    if (::fsync(file.get()) != 0) {
        const int err = errno;
        throw fail(err, cat("cannot fsync ", tmp.string()));
    }
    if (const int err = file.close()) throw fail(err, cat("cannot close ", tmp.string()));

    // 3. Atomic replace.
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        throw fail(err, "cannot rename the temporary file over it");
    }
    guard.release();

    // 4. Make the rename durable. The new file is complete and in place at this point, so a
    //    failure here only means it might not survive a power cut; it is still reported.
    const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) {
        const int err = errno;
        throw fail(err, cat("cannot open directory ", dir.string(), " to fsync it"));
    }
    detail::FileDescriptor directory(dir_fd);
    if (::fsync(directory.get()) != 0) {
        const int err = errno;
        // EINVAL: this filesystem cannot fsync directories (some FUSE and network filesystems);
        // there is nothing more we can do to make the rename durable.
        if (err != EINVAL) throw fail(err, cat("cannot fsync directory ", dir.string()));
    }
}

/// The first bytes of a file and its total size: lets a format reader check a header without
/// reading gigabytes of weights behind it.
struct FileHead {
    /// min(max_bytes, file size) bytes from the start of the file.
    std::string bytes;       // min(max_bytes, file size) bytes from the start of the file
    /// The size of the whole file according to fstat.
    std::uint64_t file_size;  // size of the whole file according to fstat
};

/// Reads at most `max_bytes` from the start of a regular file. Throws IoError
/// "<who>: <path>: <reason>" when the file cannot be opened or read.
inline FileHead read_file_head(const std::filesystem::path& path, std::size_t max_bytes, std::string_view who = "read_file") {
    const auto fail = [&](const std::string& reason) { return IoError(cat(who, ": ", path.string(), ": ", reason)); };
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw fail(detail::errno_message(errno));
    detail::FileDescriptor file(fd);

    struct stat st {};
    if (::fstat(file.get(), &st) != 0) throw fail(detail::errno_message(errno));
    if (S_ISDIR(st.st_mode)) throw fail("is a directory, expected a file");
    if (!S_ISREG(st.st_mode)) throw fail("is not a regular file");

    FileHead head{std::string(), static_cast<std::uint64_t>(st.st_size)};
    head.bytes.resize(static_cast<std::size_t>(std::min<std::uint64_t>(max_bytes, head.file_size)));
    std::size_t done = 0;
    while (done < head.bytes.size()) {
        const ssize_t n = ::read(file.get(), head.bytes.data() + done, head.bytes.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw fail(detail::errno_message(errno));
        }
        if (n == 0) break;  // the file shrank since fstat: return what is there
        done += static_cast<std::size_t>(n);
    }
    head.bytes.resize(done);
    return head;
}

/// The whole contents of a regular file. Throws IoError "<who>: <path>: <reason>".
inline std::string read_file(const std::filesystem::path& path, std::string_view who = "read_file") {
    return read_file_head(path, static_cast<std::size_t>(-1), who).bytes;
}

}  // namespace cringe::io
