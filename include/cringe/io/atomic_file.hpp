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
#include <limits>
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

/// A regular file open for reading, with its size. Every reader in cringe::io goes through it, so
/// that hostile paths fail fast instead of hanging or reading gigabytes:
///   - it opens with O_NONBLOCK, so a FIFO without a writer cannot block the open, and then refuses
///     anything that is not a regular file (FIFO, socket, device, directory) before reading a byte;
///   - readers read only byte ranges they know they need (a header, then what the header promises),
///     never "until EOF", so a /dev/zero-like or huge file costs nothing before it is refused.
/// Errors are IoError "<who>: <path>: <reason>".
class RegularFileReader {
public:
    /// Opens `path` and records its size; `who` (the calling operation) starts every error message.
    /// Throws IoError when it cannot be opened or is not a regular file (directory, FIFO, socket, device).
    RegularFileReader(const std::filesystem::path& path, std::string_view who)
        : path_(path), who_(who), file_(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)) {
        if (file_.get() < 0) throw fail(detail::errno_message(errno));
        struct stat st {};
        if (::fstat(file_.get(), &st) != 0) throw fail(detail::errno_message(errno));
        if (S_ISDIR(st.st_mode)) throw fail("is a directory, expected a file");
        if (!S_ISREG(st.st_mode))
            throw fail(cat("is not a regular file (", S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISSOCK(st.st_mode) ? "a socket"
                                                      : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device" : "a special file",
                           "); expected a regular file"));
        // O_NONBLOCK has no effect on regular files; clear it anyway so reads are ordinary blocking reads.
        const int flags = ::fcntl(file_.get(), F_GETFL);
        if (flags >= 0) ::fcntl(file_.get(), F_SETFL, flags & ~O_NONBLOCK);
        size_ = static_cast<std::uint64_t>(st.st_size);
    }

    /// The size fstat reported when the file was opened.
    std::uint64_t size() const { return size_; }

    /// Up to `count` bytes from `offset`: fewer only where the file ends (or shrank since it was opened).
    std::string read_up_to(std::uint64_t offset, std::uint64_t count) const {
        const std::uint64_t available = offset < size_ ? size_ - offset : 0;
        std::string bytes(static_cast<std::size_t>(std::min(count, available)), '\0');
        std::size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t n = ::pread(file_.get(), bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
            if (n < 0) {
                if (errno == EINTR) continue;
                throw fail(detail::errno_message(errno));
            }
            if (n == 0) break;  // the file shrank since fstat
            done += static_cast<std::size_t>(n);
        }
        bytes.resize(done);
        return bytes;
    }

    /// Exactly `count` bytes from `offset`; IoError if the file no longer holds them.
    std::string read_exactly(std::uint64_t offset, std::uint64_t count) const {
        std::string bytes = read_up_to(offset, count);
        if (bytes.size() != count)
            throw fail(cat("file changed while it was being read (expected ", count, " bytes at offset ", offset, ", got ",
                           bytes.size(), ")"));
        return bytes;
    }

    /// The IoError "<who>: <path>: <reason>" for this file.
    IoError fail(const std::string& reason) const { return IoError(cat(who_, ": ", path_.string(), ": ", reason)); }

private:
    std::filesystem::path path_;
    std::string who_;
    detail::FileDescriptor file_;
    std::uint64_t size_ = 0;
};

/// The first bytes of a file and its total size: lets a format reader check a header without
/// reading gigabytes of weights behind it.
struct FileHead {
    /// min(max_bytes, file size) bytes from the start of the file.
    std::string bytes;       // min(max_bytes, file size) bytes from the start of the file
    /// The size of the whole file according to fstat.
    std::uint64_t file_size;  // size of the whole file according to fstat
};

/// Reads at most `max_bytes` from the start of a regular file. Throws IoError
/// "<who>: <path>: <reason>" when the file cannot be opened or read, or is not a regular file.
inline FileHead read_file_head(const std::filesystem::path& path, std::size_t max_bytes, std::string_view who = "read_file") {
    const RegularFileReader file(path, who);
    return FileHead{file.read_up_to(0, max_bytes), file.size()};
}

/// No limit on the size of a whole-file read (the default of read_file).
inline constexpr std::uint64_t kNoFileSizeLimit = std::numeric_limits<std::uint64_t>::max();

/// The whole contents of a regular file of at most `max_bytes` bytes (checked with fstat before
/// reading anything). Throws IoError "<who>: <path>: <reason>", e.g. "file is 6000000000 bytes;
/// the limit for this file is 16777216 bytes".
inline std::string read_file(const std::filesystem::path& path, std::string_view who = "read_file",
                             std::uint64_t max_bytes = kNoFileSizeLimit) {
    const RegularFileReader file(path, who);
    if (file.size() > max_bytes)
        throw file.fail(cat("file is ", file.size(), " bytes; the limit for this file is ", max_bytes, " bytes"));
    return file.read_exactly(0, file.size());
}

}  // namespace cringe::io
