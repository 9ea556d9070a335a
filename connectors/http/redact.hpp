#pragma once
// Removing secrets from URLs before they reach errors, logs and reports.

#include <string>
#include <string_view>

namespace rapport::http {

/// The URL with userinfo removed and the values of secret-looking query and fragment
/// parameters (access_token, client_secret, password, code, api_key, signature, ...) replaced
/// by REDACTED. Works on malformed URLs too: it never throws and never returns a secret it found.
std::string redact_url(std::string_view url);

/// True for a query parameter name that may carry a secret (compared case-insensitively).
bool is_secret_parameter(std::string_view name);

/// `text` with every occurrence of `secret` replaced by ***; empty and very short secrets are
/// left alone (replacing "a" everywhere would garble the text without protecting anything).
std::string scrub(std::string text, std::string_view secret);

}  // namespace rapport::http
