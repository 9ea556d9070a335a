#include "connectors/auth/secret.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <ostream>
#include <sstream>

namespace rapport::auth {
namespace {

bool is_variable_name(std::string_view name) {
  if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string strip_line_breaks(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

Secret from_environment(std::string_view name) {
  if (!is_variable_name(name)) {
    throw SecretError("`env:` must be followed by an environment variable name (letters, digits, _)");
  }
  std::string variable(name);
  const char* value = std::getenv(variable.c_str());
  if (value == nullptr) throw SecretError("environment variable " + variable + " is not set");
  if (*value == '\0') throw SecretError("environment variable " + variable + " is empty");
  return Secret::from_value(value, "env:" + variable);
}

Secret from_file(std::string_view path_text) {
  std::string path(path_text);
  if (path.empty()) throw SecretError("`file:` must be followed by the path of the secret file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SecretError("cannot read secret file " + path + ": " + std::strerror(errno));
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) throw SecretError("cannot read secret file " + path);
  std::string value = strip_line_breaks(content.str());
  if (value.empty()) throw SecretError("secret file " + path + " is empty");
  return Secret::from_value(std::move(value), "file:" + path);
}

}  // namespace

Secret Secret::resolve(std::string_view reference) {
  if (reference.starts_with("env:")) return from_environment(reference.substr(4));
  if (reference.starts_with("file:")) return from_file(reference.substr(5));
  throw SecretError("a secret must be given as env:NAME or file:PATH; inline secrets are not accepted");
}

Secret Secret::from_value(std::string value, std::string origin) {
  return Secret(std::move(value), std::move(origin));
}

std::ostream& operator<<(std::ostream& out, const Secret&) { return out << "***"; }

std::string to_string(const Secret&) { return "***"; }

}  // namespace rapport::auth
