#pragma once
// Access tokens for the Authorization header, cached until shortly before they expire.

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "connectors/auth/secret.hpp"
#include "connectors/http/error.hpp"

namespace rapport::auth {

using Clock = std::chrono::steady_clock;

/// A token and what the issuer said about it.
struct AccessToken {
  Secret value = Secret::from_value("", "none");
  std::string type = "Bearer";
  std::optional<Clock::time_point> expires_at;  // unset: valid until a server refuses it
  std::string instance_url;                     // Salesforce: the org's API host

  /// "Bearer <token>": the Authorization header value.
  [[nodiscard]] std::string authorization() const { return type + " " + value.reveal(); }
};

/// Obtaining an access token failed. Derives from HttpError so the network channel catches one
/// type; the text never contains the client secret, refresh token or access token.
class AuthError : public http::HttpError {
 public:
  AuthError(http::HttpErrorDetails details, const std::string& what) : http::HttpError(std::move(details), what) {}
};

/// Hands out the current token and obtains a new one when it expires or a server refuses it.
/// Thread-safe: the concurrent workers of one source share a provider, and while one obtains a
/// token the others wait for it rather than asking for their own.
class TokenProvider {
 public:
  virtual ~TokenProvider() = default;

  /// The cached token, or a new one when there is none or it expires within the margin.
  /// Throws AuthError (or SecretError) when none can be obtained.
  AccessToken token();
  /// "Bearer <token>": the Authorization header value of token().
  std::string authorization();
  /// Forgets the cached token because a server refused `refused`, so the next token() obtains
  /// another. A cached token other than `refused` is kept: requests refused together (sent with
  /// the same old token) cause one refresh, not one each.
  void invalidate(const AccessToken& refused);

  /// Replaces the clock (tests). The default is steady_clock::now.
  void set_clock(std::function<Clock::time_point()> now) { now_ = std::move(now); }
  /// How long before its expiry a token is renewed (default 60 s).
  void set_expiry_margin(std::chrono::seconds margin) { margin_ = margin; }
  /// How many tokens were obtained so far (for journals and tests).
  [[nodiscard]] int fetch_count() const { return fetch_count_.load(); }

 protected:
  /// Obtains a new token from its source.
  virtual AccessToken fetch() = 0;
  [[nodiscard]] Clock::time_point now() const { return now_(); }

 private:
  std::mutex mutex_;
  std::optional<AccessToken> cached_;
  std::function<Clock::time_point()> now_ = [] { return Clock::now(); };
  std::chrono::seconds margin_{60};
  std::atomic<int> fetch_count_{0};
};

/// A fixed bearer token, such as a HubSpot private app's access token. A refresh reads the
/// reference again, so a token rotated in its file or variable is picked up.
class StaticBearer : public TokenProvider {
 public:
  /// `reference` is env:NAME or file:/path; it is read at once so a missing secret fails early.
  explicit StaticBearer(std::string reference);

 protected:
  AccessToken fetch() override;

 private:
  std::string reference_;
  std::optional<Secret> first_;
};

}  // namespace rapport::auth
