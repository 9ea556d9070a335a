#include "connectors/http/curl_handles.hpp"

#include <new>

namespace rapport::http::detail {

void ensure_curl_initialised() {
  static const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (code != CURLE_OK) throw CurlSetupError(std::string("curl_global_init: ") + curl_easy_strerror(code));
}

EasyHandle make_easy() {
  ensure_curl_initialised();
  EasyHandle easy(curl_easy_init());
  if (!easy) throw CurlSetupError("curl_easy_init failed");
  return easy;
}

void check_multi(CURLMcode code, const char* call) {
  if (code != CURLM_OK) throw CurlSetupError(std::string(call) + ": " + curl_multi_strerror(code));
}

MultiHandle::MultiHandle() {
  ensure_curl_initialised();
  multi_ = curl_multi_init();
  if (multi_ == nullptr) throw CurlSetupError("curl_multi_init failed");
}

MultiHandle::~MultiHandle() { curl_multi_cleanup(multi_); }

void HeaderList::append(const std::string& line) {
  curl_slist* grown = curl_slist_append(list_, line.c_str());
  if (grown == nullptr) throw std::bad_alloc();
  list_ = grown;
}

MultiAttachment::MultiAttachment(CURLM* multi, CURL* easy) : multi_(multi), easy_(easy) {
  check_multi(curl_multi_add_handle(multi, easy), "curl_multi_add_handle");
}

MultiAttachment::~MultiAttachment() { curl_multi_remove_handle(multi_, easy_); }

}  // namespace rapport::http::detail
