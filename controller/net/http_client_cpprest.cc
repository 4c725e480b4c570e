// HttpClient over cpprestsdk's http_client. The only file that includes it.
#include <cpprest/containerstream.h>
#include <cpprest/http_client.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <fstream>

#include "net/http_client.h"

namespace slogate::net {

struct Cancel::Impl {
  pplx::cancellation_token_source source;
  std::atomic<bool> cancelled{false};
};

Cancel::Cancel() : impl_(std::make_unique<Impl>()) {}
Cancel::~Cancel() = default;
void Cancel::cancel() {
  impl_->cancelled = true;
  impl_->source.cancel();
}
bool Cancel::cancelled() const {
  return impl_->cancelled.load();
}

namespace {

namespace http = web::http;

bool fileReadable(const std::string& path) {
  std::ifstream in(path);
  return static_cast<bool>(in);
}

class CpprestHttpClient final : public HttpClient {
 public:
  CpprestHttpClient(const std::string& baseUrl, const HttpClientOptions& options)
      : baseUrl_(baseUrl), options_(options), client_(baseUrl, config(options)) {}

  // HttpClient
  Result<HttpResponse> send(const HttpRequest& request) override {
    const std::string what = request.method + " " + baseUrl_ + request.target;
    try {
      http::http_response resp = client_.request(build(request)).get();
      HttpResponse out;
      out.status = resp.status_code();
      for (const auto& [name, value] : resp.headers()) out.headers.emplace_back(name, value);
      const std::vector<unsigned char> body = resp.extract_vector().get();
      if (body.size() > options_.maxResponseBytes) {
        return Status(Code::kInternal, what + ": response larger than " +
                                           std::to_string(options_.maxResponseBytes) + " bytes");
      }
      out.body.assign(body.begin(), body.end());
      return out;
    } catch (const http::http_exception& e) {
      return transportError(what, e);
    } catch (const std::exception& e) {
      return unavailable(what + ": " + e.what());
    }
  }

  Result<int> stream(const HttpRequest& request, const StreamHandler& handler,
                     Cancel* cancel) override {
    const std::string what = request.method + " " + baseUrl_ + request.target;
    try {
      const pplx::cancellation_token token =
          cancel != nullptr ? cancel->impl().source.get_token() : pplx::cancellation_token::none();
      http::http_response resp = client_.request(build(request), token).get();
      Headers headers;
      for (const auto& [name, value] : resp.headers()) headers.emplace_back(name, value);
      if (handler.onHeaders) handler.onHeaders(resp.status_code(), headers);
      // The body buffer's read(n) waits for n bytes: wait for one byte, then
      // take whatever else has arrived, so events are delivered as they come.
      auto body = resp.body();
      auto source = body.streambuf();
      std::string chunk;
      while (cancel == nullptr || !cancel->cancelled()) {
        const auto first = source.bumpc().get();
        if (first == std::char_traits<char>::eof()) break;  // end of body
        chunk.assign(1, static_cast<char>(first));
        const std::size_t avail = source.in_avail();
        if (avail > 0) {
          const std::size_t at = chunk.size();
          chunk.resize(at + avail);
          const std::size_t got =
              source.getn(reinterpret_cast<unsigned char*>(chunk.data()) + at, avail).get();
          chunk.resize(at + got);
        }
        if (handler.onData && !handler.onData(chunk)) break;
      }
      return static_cast<int>(resp.status_code());
    } catch (const pplx::task_canceled&) {
      return Status(Code::kUnavailable, what + ": cancelled");
    } catch (const http::http_exception& e) {
      if (cancel != nullptr && cancel->cancelled()) {
        return Status(Code::kUnavailable, what + ": cancelled");
      }
      return transportError(what, e);
    } catch (const std::exception& e) {
      return unavailable(what + ": " + e.what());
    }
  }

 private:
  static Status transportError(const std::string& what, const http::http_exception& e) {
    const std::string msg = e.what();
    const bool timedOut = e.error_code() == std::errc::timed_out ||
                          msg.find("timed out") != std::string::npos ||
                          msg.find("timeout") != std::string::npos;
    return Status(timedOut ? Code::kDeadline : Code::kUnavailable, what + ": " + msg);
  }

  static http::http_request build(const HttpRequest& request) {
    http::http_request req(request.method);
    req.set_request_uri(request.target);
    for (const auto& [name, value] : request.headers) req.headers().add(name, value);
    if (!request.body.empty() || request.method == "POST" || request.method == "PATCH" ||
        request.method == "PUT") {
      std::string contentType = "application/octet-stream";
      for (const auto& [name, value] : request.headers) {
        if (equalsIgnoreCase(name, "Content-Type")) contentType = value;
      }
      req.set_body(request.body, contentType);
    }
    return req;
  }

  static http::client::http_client_config config(const HttpClientOptions& options) {
    http::client::http_client_config cfg;
    cfg.set_timeout(std::chrono::duration_cast<std::chrono::microseconds>(options.timeout));
    cfg.set_validate_certificates(!options.tls.insecureSkipVerify);
    const TlsOptions tls = options.tls;
    if (!tls.caFile.empty() || !tls.certFile.empty()) {
      cfg.set_ssl_context_callback([tls](boost::asio::ssl::context& ctx) {
        if (!tls.caFile.empty()) ctx.load_verify_file(tls.caFile);
        if (!tls.certFile.empty()) ctx.use_certificate_chain_file(tls.certFile);
        if (!tls.keyFile.empty())
          ctx.use_private_key_file(tls.keyFile, boost::asio::ssl::context::pem);
      });
    }
    return cfg;
  }

  std::string baseUrl_;
  HttpClientOptions options_;
  http::client::http_client client_;
};

}  // namespace

std::string urlEncode(std::string_view value) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size() * 3);
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

Result<std::unique_ptr<HttpClient>> makeHttpClient(const std::string& baseUrl,
                                                   const HttpClientOptions& options) {
  if (baseUrl.rfind("http://", 0) != 0 && baseUrl.rfind("https://", 0) != 0) {
    return invalidArgument("\"" + baseUrl + "\" is not an http:// or https:// URL");
  }
  for (const std::string* f : {&options.tls.caFile, &options.tls.certFile, &options.tls.keyFile}) {
    if (!f->empty() && !fileReadable(*f)) return invalidArgument(*f + ": cannot read");
  }
  // OpenSSL before cpprestsdk's shared thread pool (made for the first
  // client): exit handlers run last-registered first, so the pool joins its
  // threads while OpenSSL can still free their per-thread error state. The
  // other way round each pool thread's state is left behind at exit
  // (LeakSanitizer reports it in every controller that stops on SIGTERM).
  OPENSSL_init_ssl(0, nullptr);
  try {
    return std::unique_ptr<HttpClient>(std::make_unique<CpprestHttpClient>(baseUrl, options));
  } catch (const std::exception& e) {
    return invalidArgument("\"" + baseUrl + "\": " + e.what());
  }
}

}  // namespace slogate::net
