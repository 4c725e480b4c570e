// subprocess.h — the process and loopback plumbing shared by the harness's
// servers (PrometheusServer, SlogateProcess): temporary directories, child
// processes with their output in a file, stopping and reaping them, and a tiny
// blocking HTTP/1.0 GET against 127.0.0.1.
//
// Thread safety: every function may be called from several threads at once
// (none keeps state); a pid must be waited for by one thread only.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace slogate::harness {

// strerror without its static buffer.
std::string errorText(int error);

// A fresh directory "<$TMPDIR or /tmp>/<prefix>XXXXXX" (mkdtemp); "" and
// *error set on failure.
std::string makeTempDir(const std::string& prefix, std::string* error);
// Removes `dir` recursively; errors are ignored ("" is a no-op).
void removeDir(const std::string& dir) noexcept;
bool writeFile(const std::string& path, const std::string& content);
// The last `maxBytes` of a file ("(no PATH)" when it cannot be read).
std::string readTail(const std::string& path, std::size_t maxBytes = 3000);

// Starts args[0] (a path) with cwd `dir`, stdin /dev/null, stdout and stderr
// written to logPath (created or truncated), every other descriptor closed and
// the signal mask and SIGTERM/SIGPIPE dispositions reset. The child gets
// SIGTERM when the calling thread dies (PR_SET_PDEATHSIG). Returns -1 (and a
// reason) on failure.
pid_t spawn(const std::vector<std::string>& args, const std::string& dir,
            const std::string& logPath, std::string* reason);
// Waits up to timeoutMs for pid to exit; its wait status if it did (0 when it
// is no longer a child, e.g. already reaped).
std::optional<int> waitExit(pid_t pid, int timeoutMs);
// Sends `signal`, waits up to graceMs, then SIGKILLs; reaps the child and
// returns its wait status (-1 when pid <= 0).
int stopProcess(pid_t pid, int signal, int graceMs) noexcept;
// "exit code N", "signal N" or "status N".
std::string describeStatus(int status);

// GET http://127.0.0.1:port<pathAndQuery> (HTTP/1.0, Connection: close,
// chunked bodies decoded). Returns the status code and sets *body (if not
// null) to the response body; -1 on a connection or protocol error (then
// *body holds the reason).
int httpGet(int port, const std::string& pathAndQuery, std::string* body, int timeoutMs);

}  // namespace slogate::harness
