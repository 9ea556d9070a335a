#pragma once
// RAII around libcurl's easy handles, multi handles and header lists; every return code checked.
// Private to the http layer: nothing outside connectors/http includes libcurl.

#include <curl/curl.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace rapport::http::detail {

/// curl_global_init exactly once per process, before the first handle.
void ensure_curl_initialised();

/// A libcurl call that failed for a reason no retry can fix (unknown option, out of memory).
class CurlSetupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct EasyDeleter {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;

/// A fresh easy handle; throws CurlSetupError when libcurl cannot make one.
EasyHandle make_easy();

/// Sets an option and throws CurlSetupError naming it when libcurl refuses.
template <typename Value>
void set_option(CURL* easy, CURLoption option, const char* name, Value value) {
  CURLcode code = curl_easy_setopt(easy, option, value);
  if (code != CURLE_OK) {
    throw CurlSetupError(std::string("libcurl refused option ") + name + ": " + curl_easy_strerror(code));
  }
}
#define RAPPORT_CURL_SET(easy, option, value) ::rapport::http::detail::set_option(easy, option, #option, value)

/// Throws CurlSetupError for a failed multi-interface call.
void check_multi(CURLMcode code, const char* call);

/// A multi handle; removing easy handles is the owner's job before they are destroyed.
class MultiHandle {
 public:
  MultiHandle();
  ~MultiHandle();
  MultiHandle(const MultiHandle&) = delete;
  MultiHandle& operator=(const MultiHandle&) = delete;

  [[nodiscard]] CURLM* get() const { return multi_; }

 private:
  CURLM* multi_;
};

/// A curl_slist of request headers.
class HeaderList {
 public:
  HeaderList() = default;
  ~HeaderList() { curl_slist_free_all(list_); }
  HeaderList(const HeaderList&) = delete;
  HeaderList& operator=(const HeaderList&) = delete;

  /// Appends "Name: value"; throws std::bad_alloc when libcurl cannot.
  void append(const std::string& line);
  [[nodiscard]] curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

/// Ties an easy handle to a multi handle for the duration of one transfer.
class MultiAttachment {
 public:
  MultiAttachment(CURLM* multi, CURL* easy);
  ~MultiAttachment();
  MultiAttachment(const MultiAttachment&) = delete;
  MultiAttachment& operator=(const MultiAttachment&) = delete;

 private:
  CURLM* multi_;
  CURL* easy_;
};

}  // namespace rapport::http::detail
