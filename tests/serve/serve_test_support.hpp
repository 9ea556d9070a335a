#pragma once
// What the serve tests share: a folder with a small pack, data and a serve.yaml; a server
// started in-process on a free loopback port and stopped on scope exit; a bounded HTTP client.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.hpp"
#include "connectors/http/client.hpp"
#include "serve/config.hpp"
#include "serve/http_server.hpp"
#include "serve/service.hpp"
#include "support/rapport_process.hpp"

namespace rapport::serve::test {

namespace fs = std::filesystem;
namespace json = boost::json;
using rapport::testing::TempDir;

inline void write(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

inline constexpr const char* kPack = R"(pack team
  version "1.0.0"
  title "Team"

param portfolio_limit : count = 2
  "Most accounts one account manager owns"

rule portfolio_limit
  title     "No account manager owns more than portfolio_limit accounts"
  rationale "tests"
  severity  high
  for each manager in users
    where manager.role = "account_manager" and manager.active
  let portfolio = count(accounts where owner_id = manager.id)
  when portfolio > portfolio_limit
  message "{manager.name} owns {portfolio} accounts; the limit is {portfolio_limit}."
  remedy  "Move {portfolio - portfolio_limit} accounts."
end
)";

/// A folder with a pack, data (Ada owns three accounts, Bo one) and a serve.yaml.
struct Fixture {
  TempDir dir;
  fs::path pack_file;

  explicit Fixture(const std::string& extra_yaml = "") {
    pack_file = dir.path() / "packs" / "team.rules";
    write(pack_file, kPack);
    write(dir.path() / "data" / "users.jsonl",
          "{\"id\":\"u1\",\"name\":\"Ada\",\"role\":\"account_manager\",\"active\":true}\n"
          "{\"id\":\"u2\",\"name\":\"Bo\",\"role\":\"account_manager\",\"active\":true}\n");
    write(dir.path() / "data" / "accounts.jsonl",
          "{\"id\":\"a1\",\"name\":\"One\",\"owner_id\":\"u1\",\"tier\":\"key\"}\n"
          "{\"id\":\"a2\",\"name\":\"Two\",\"owner_id\":\"u1\",\"tier\":\"key\"}\n"
          "{\"id\":\"a3\",\"name\":\"Three\",\"owner_id\":\"u1\",\"tier\":\"key\"}\n"
          "{\"id\":\"a4\",\"name\":\"Four\",\"owner_id\":\"u2\",\"tier\":\"key\"}\n");
    write(dir.path() / "serve.yaml", "version: 1\nlisten: { port: 0 }\ndata: data\npacks: [packs]\nas_of: 2026-11-01\n"
                                     "reload: { watch: true, watch_interval: 0.2s }\n" + extra_yaml);
  }
  [[nodiscard]] std::string config_path() const { return (dir.path() / "serve.yaml").string(); }
};

/// A server started in-process on a free loopback port, stopped on scope exit.
class Running {
 public:
  explicit Running(const Fixture& fixture, std::optional<Config> override_config = std::nullopt) {
    diag::DiagnosticSink sink;
    auto config = override_config ? override_config : load_config(fixture.config_path(), sink);
    EXPECT_TRUE(config) << "serve.yaml does not load";
    config_ = *config;
    service_ = std::make_unique<Service>(config_, cli::serve_backend(config_), "test");
    EXPECT_TRUE(service_->reload("start"));
    server_ = std::make_unique<Server>(config_, service_->router(), service_->metrics(), service_->log());
    server_->start();
    service_->start_background();
  }
  ~Running() {
    service_->stop_background();
    server_->stop(1);
  }
  [[nodiscard]] std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }
  [[nodiscard]] std::uint16_t port() const { return server_->port(); }
  Service& service() { return *service_; }

 private:
  Config config_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<Server> server_;
};

inline http::Response send(const std::string& method, const std::string& url, const std::string& body = "",
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
  http::ClientOptions options;
  options.retry.max_retries = 0;
  options.total_timeout = std::chrono::seconds(10);
  options.connect_timeout = std::chrono::seconds(5);
  http::Client client(options);
  http::Request request;
  request.method = method == "GET" ? http::Method::Get : http::Method::Post;
  request.url = url;
  request.body = body;
  for (auto& [name, value] : headers) request.headers.add(name, value);
  if (!body.empty()) request.headers.add("Content-Type", "application/json");
  return client.send(request);
}

/// A response header's value, or "".
inline std::string header(const http::Response& response, std::string_view name) {
  auto value = response.headers.get(name);
  return value ? std::string(*value) : "";
}

inline json::value body_of(const http::Response& response) { return json::parse(response.body); }

inline std::string error_code(const http::Response& response) {
  return std::string(body_of(response).at("error").at("code").as_string());
}

}  // namespace rapport::serve::test
