// test_pki.h — TestPki: throwaway certificates for the net/ tests and the
// server benchmark, made with the OpenSSL C API at run time (nothing checked
// in expires).
//
//   TestPki pki(makeTempDir());                   // CA in <dir>/ca.crt
//   CertFiles leaf = pki.issue("server", 1001);   // <dir>/server.crt, .key
//   // trust pki.caFile(); the leaf is valid for 127.0.0.1, ::1 and localhost
//
// Thread safety: none; build certificates before starting threads.
#pragma once

#include <memory>
#include <string>

namespace slogate::net::testing {

enum class KeyType { kEcP256, kRsa2048 };

struct CertFiles {
  std::string certFile;  // PEM certificate
  std::string keyFile;   // PEM private key (unencrypted)
  long serial = 0;       // the certificate's serial number
};

class TestPki {
 public:
  // Creates a self-signed CA and writes <dir>/ca.crt. Aborts the test
  // process on an OpenSSL failure (tests cannot continue without it).
  explicit TestPki(std::string dir);
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  const std::string& dir() const { return dir_; }
  const std::string& caFile() const { return caFile_; }

  // A server certificate signed by the CA for 127.0.0.1, ::1 and localhost,
  // written to <dir>/<name>.crt and <dir>/<name>.key.
  CertFiles issue(const std::string& name, long serial, KeyType type = KeyType::kEcP256);

 private:
  struct Ca;
  std::string dir_;
  std::string caFile_;
  std::unique_ptr<Ca> ca_;  // the CA's key and certificate
};

// A fresh directory under $TMPDIR (or /tmp); removeTree() deletes it.
std::string makeTempDir();
void removeTree(const std::string& dir);

// Copies `from` to `to` atomically (write beside, then rename), the way a
// secret volume swaps files under a reading process.
void replaceFile(const std::string& from, const std::string& to);

}  // namespace slogate::net::testing
