#include "connectors/auth/token_provider.hpp"

namespace rapport::auth {

AccessToken TokenProvider::token() {
  std::lock_guard lock(mutex_);
  bool fresh = cached_ && (!cached_->expires_at || now_() + margin_ < *cached_->expires_at);
  if (!fresh) {
    cached_.reset();
    cached_ = fetch();
    ++fetch_count_;
  }
  return *cached_;
}

std::string TokenProvider::authorization() { return token().authorization(); }

void TokenProvider::invalidate(const AccessToken& refused) {
  std::lock_guard lock(mutex_);
  if (cached_ && cached_->value.reveal() == refused.value.reveal()) cached_.reset();
}

StaticBearer::StaticBearer(std::string reference) : reference_(std::move(reference)), first_(Secret::resolve(reference_)) {}

AccessToken StaticBearer::fetch() {
  AccessToken token;
  if (first_) {
    token.value = std::move(*first_);
    first_.reset();
  } else {
    token.value = Secret::resolve(reference_);
  }
  return token;
}

}  // namespace rapport::auth
