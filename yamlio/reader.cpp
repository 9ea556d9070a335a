#include "yamlio/reader.hpp"

#include "diag/suggest.hpp"

namespace rapport::yamlio {

namespace fs = std::filesystem;

namespace {

/// A range bound without trailing zeros: 0.1, 300, 65535.
std::string plain(double v) {
  std::string s = std::to_string(v);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

Reader::Reader(diag::SourceFilePtr file, diag::DiagnosticSink& sink, fs::path base, diag::Code code)
    : file_(std::move(file)), sink_(sink), base_(std::move(base)), code_(code) {}

diag::Diagnostic& Reader::error(const YAML::Node& node, const std::string& message) {
  return sink_.error(code_, file_, span_of(node, *file_), message);
}

bool Reader::keys(const YAML::Node& map, const std::vector<std::string>& allowed, std::string_view where) {
  if (!map.IsMap()) {
    error(map, std::string(where) + " must be a map of keys").help("allowed keys: " + join(allowed));
    return false;
  }
  return check_keys(map, file_, allowed, where, sink_);
}

std::optional<std::string> Reader::text(const YAML::Node& node, std::string_view what) {
  if (node.IsScalar() && !node.Scalar().empty()) return node.Scalar();
  error(node, quote(what) + " must be text");
  return std::nullopt;
}

std::optional<std::string> Reader::path(const YAML::Node& node, std::string_view what) {
  auto value = text(node, what);
  if (!value) return std::nullopt;
  fs::path p(*value);
  return (p.is_absolute() ? p : base_ / p).lexically_normal().string();
}

std::vector<std::string> Reader::paths(const YAML::Node& node, std::string_view what, std::string_view example) {
  std::vector<std::string> out;
  if (node.IsScalar()) {
    if (auto p = path(node, what)) out.push_back(*p);
  } else if (node.IsSequence()) {
    for (const auto& item : node) {
      if (auto p = path(item, what)) out.push_back(*p);
    }
  } else {
    error(node, quote(what) + " must be a path or a list of paths").help("for example: " + std::string(example));
  }
  return out;
}

std::vector<std::string> Reader::parameter_sets(const YAML::Node& node, std::string_view map_example,
                                                std::string_view list_hint) {
  std::vector<std::string> out;
  if (!node.IsMap()) {
    error(node, "`set` must be a map of parameter values").help("for example: " + std::string(map_example));
    return out;
  }
  for (const auto& entry : node) {
    if (!entry.second.IsScalar()) {
      // Lists and keyed values use the rule language's literal syntax in one scalar.
      error(entry.second, "write the value of " + quote(entry.first.Scalar()) + " as one scalar in the rule language's syntax")
          .help(std::string(list_hint));
      continue;
    }
    out.push_back(entry.first.Scalar() + "=" + entry.second.Scalar());
  }
  return out;
}

std::optional<std::string> Reader::choice(const YAML::Node& node, std::string_view what, const std::vector<std::string>& choices) {
  auto value = text(node, what);
  if (!value) return std::nullopt;
  for (const auto& c : choices) {
    if (c == *value) return value;
  }
  auto& d = error(node, quote(what) + " must be one of " + join(choices) + ", got " + quote(*value));
  if (auto s = diag::closest(*value, choices)) d.help("did you mean " + quote(*s) + "?");
  return std::nullopt;
}

std::optional<bool> Reader::boolean(const YAML::Node& node, std::string_view what) {
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
  }
  error(node, quote(what) + " must be true or false");
  return std::nullopt;
}

std::optional<double> Reader::number(const YAML::Node& node, std::string_view what, double min, double max) {
  if (node.IsScalar()) {
    try {
      std::size_t used = 0;
      double value = std::stod(node.Scalar(), &used);
      if (used == node.Scalar().size() && value >= min && value <= max) return value;
    } catch (const std::exception&) {
    }
  }
  error(node, quote(what) + " must be a number from " + plain(min) + " to " + plain(max));
  return std::nullopt;
}

std::optional<double> Reader::duration(const YAML::Node& node, std::string_view what, double max_seconds) {
  if (node.IsScalar() && !node.Scalar().empty()) {
    std::string s = node.Scalar();
    double unit = 1;
    char last = s.back();
    if (last == 's' || last == 'm' || last == 'h') {
      unit = last == 'h' ? 3600 : last == 'm' ? 60 : 1;
      s.pop_back();
    }
    try {
      std::size_t used = 0;
      double value = std::stod(s, &used) * unit;
      if (used == s.size() && value >= 0 && value <= max_seconds) return value;
    } catch (const std::exception&) {
    }
  }
  error(node, quote(what) + " must be a duration such as 30s, 15m or 1h (at most " + plain(max_seconds) + " s)");
  return std::nullopt;
}

}  // namespace rapport::yamlio
