// secret_file.h — reading a credential from a file (tokens, passwords).
//
// Bearer tokens and passwords are read from files that Kubernetes rotates
// (projected service account tokens, mounted Secrets), so callers read them
// again on every request. One rule everywhere: the whole file, trailing
// whitespace and newlines removed; errors name the file and what it should
// hold, never its content.
//
// Thread safety: a pure function of the file system.
#pragma once

#include <string>

#include "base/result.h"

namespace slogate {

// The file's content without trailing whitespace. kInvalidArgument
// "<path>: cannot read <what>" when it cannot be opened; files over 1 MiB are
// refused (no credential is that large).
Result<std::string> readSecretFile(const std::string& path, const std::string& what);

}  // namespace slogate
