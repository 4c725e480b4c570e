#include "net/test_pki.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace slogate::net::testing {
namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "TestPki: %s failed\n", what);
  std::abort();
}

EVP_PKEY* generateKey(KeyType type) {
  EVP_PKEY* key = type == KeyType::kRsa2048
                      ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048})
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (key == nullptr) die("key generation");
  return key;
}

void addExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  if (ext == nullptr || X509_add_ext(cert, ext, -1) != 1) die("X509_add_ext");
  X509_EXTENSION_free(ext);
}

// A v3 certificate for `key`, signed by issuer (or self-signed when null).
X509* makeCertificate(EVP_PKEY* key, const std::string& commonName, long serial, bool isCa,
                      X509* issuerCert, EVP_PKEY* issuerKey) {
  X509* cert = X509_new();
  if (cert == nullptr) die("X509_new");
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 30L * 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("slogate tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(commonName.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, issuerCert != nullptr ? X509_get_subject_name(issuerCert) : name);

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuerCert != nullptr ? issuerCert : cert, cert, nullptr, nullptr, 0);
  addExtension(cert, &ctx, NID_subject_key_identifier, "hash");
  if (isCa) {
    addExtension(cert, &ctx, NID_basic_constraints, "critical,CA:TRUE");
    addExtension(cert, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    addExtension(cert, &ctx, NID_authority_key_identifier, "keyid:always");
    addExtension(cert, &ctx, NID_basic_constraints, "critical,CA:FALSE");
    addExtension(cert, &ctx, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    addExtension(cert, &ctx, NID_ext_key_usage, "serverAuth");
    addExtension(cert, &ctx, NID_subject_alt_name, "IP:127.0.0.1,IP:::1,DNS:localhost");
  }
  if (X509_sign(cert, issuerKey != nullptr ? issuerKey : key, EVP_sha256()) == 0) {
    die("X509_sign");
  }
  return cert;
}

void writeCertificate(const std::string& path, X509* cert) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr || PEM_write_X509(f, cert) != 1) die("writing a certificate");
  std::fclose(f);
}

void writeKey(const std::string& path, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr || PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    die("writing a key");
  }
  std::fclose(f);
}

}  // namespace

struct TestPki::Ca {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  ~Ca() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};

TestPki::TestPki(std::string dir)
    : dir_(std::move(dir)), caFile_(dir_ + "/ca.crt"), ca_(std::make_unique<Ca>()) {
  ca_->key = generateKey(KeyType::kEcP256);
  ca_->cert = makeCertificate(ca_->key, "slogate test CA", 1, true, nullptr, nullptr);
  writeCertificate(caFile_, ca_->cert);
}

TestPki::~TestPki() = default;

CertFiles TestPki::issue(const std::string& name, long serial, KeyType type) {
  EVP_PKEY* key = generateKey(type);
  X509* cert = makeCertificate(key, "127.0.0.1", serial, false, ca_->cert, ca_->key);
  CertFiles out{dir_ + "/" + name + ".crt", dir_ + "/" + name + ".key", serial};
  writeCertificate(out.certFile, cert);
  writeKey(out.keyFile, key);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

std::string makeTempDir() {
  const std::string pattern =
      (std::filesystem::temp_directory_path() / "slogate-net-XXXXXX").string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) die("mkdtemp");
  return buf.data();
}

void removeTree(const std::string& dir) {
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

void replaceFile(const std::string& from, const std::string& to) {
  const std::string tmp = to + ".swap";
  std::filesystem::copy_file(from, tmp, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::rename(tmp, to);
}

}  // namespace slogate::net::testing
