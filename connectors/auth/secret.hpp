#pragma once
// Secrets named in a source file (env:NAME or file:/path), never written inline and never printed.

#include <iosfwd>
#include <stdexcept>
#include <string>
#include <string_view>

namespace rapport::auth {

/// A secret could not be read. The message names the variable or file, never a value.
class SecretError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A password, client secret or token. Printing it in any way gives "***"; reveal() is the only
/// way to the value and is meant for the line that puts it on the wire.
class Secret {
 public:
  /// Reads a secret from a reference: `env:NAME` (an environment variable) or `file:/path`
  /// (the file's content, trailing line breaks removed). Anything else is refused, without
  /// echoing it, since it is probably a secret pasted inline.
  static Secret resolve(std::string_view reference);

  /// Wraps a value obtained at run time (a token from a token endpoint); `origin` says where from.
  static Secret from_value(std::string value, std::string origin);

  [[nodiscard]] const std::string& reveal() const { return value_; }
  /// Where the secret came from ("env:SF_CLIENT_SECRET", "file:/run/secrets/hubspot"): safe to print.
  [[nodiscard]] const std::string& origin() const { return origin_; }

 private:
  Secret(std::string value, std::string origin) : value_(std::move(value)), origin_(std::move(origin)) {}

  std::string value_;
  std::string origin_;
};

/// "***".
std::ostream& operator<<(std::ostream& out, const Secret& secret);
/// "***".
std::string to_string(const Secret& secret);

}  // namespace rapport::auth
