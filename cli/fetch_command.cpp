// `rapport fetch --source source.yaml --out DIR`: CRM data to canonical files (docs/connectors.md).

#include <unistd.h>

#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/pipeline.hpp"
#include "connectors/source/fetch.hpp"
#include "diag/render.hpp"

namespace rapport::cli {

namespace po = boost::program_options;

int command_fetch(const std::vector<std::string>& args) {
  source::FetchOptions options;
  std::string color = "auto";
  bool quiet = false;
  po::options_description desc("options");
  desc.add_options()
      ("source", po::value(&options.source_path)->required(), "the source file (source.yaml)")
      ("out,o", po::value(&options.out_dir)->required(), "folder to write <entity>.jsonl files to")
      ("color", po::value(&color)->default_value("auto"), "colour: auto, always or never")
      ("quiet,q", po::bool_switch(&quiet), "print only errors")
      ("help,h", "show this help");
  const char* synopsis = "--source source.yaml --out DIR [options]";
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: rapport fetch " << synopsis << "\n\n" << desc;
      return kExitClean;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "rapport fetch: " << e.what() << "\nusage: rapport fetch " << synopsis << "\n";
    return kExitUsage;
  }
  if (color != "auto" && color != "always" && color != "never") {
    std::cerr << "rapport fetch: --color must be auto, always or never, got `" << color << "`\n";
    return kExitUsage;
  }
  bool use_color = color == "always" || (color == "auto" && ::isatty(2) && std::getenv("NO_COLOR") == nullptr);
  return fetch_into(options.source_path, options.out_dir, quiet, use_color);
}

int fetch_into(const std::string& source_path, const std::string& out_dir, bool quiet, bool color) {
  source::FetchOptions options;
  options.source_path = source_path;
  options.out_dir = out_dir;
  source::FetchReport report = source::fetch(options);
  if (!report.sink.diagnostics().empty()) {
    diag::RenderOptions render;
    render.color = color;
    std::cerr << diag::render_text(report.sink.sorted(), render);
  }
  if (!report.error.empty()) std::cerr << "rapport fetch: " << report.error << "\n";
  if (report.exit_code == source::kFetchOk && !quiet) {
    for (const auto& [entity, records] : report.written) {
      std::cerr << "fetched " << records << " record(s) of " << entity << "\n";
    }
  }
  return report.exit_code;
}

ScratchFolder::ScratchFolder() {
  std::string pattern = (std::filesystem::temp_directory_path() / "rapport-XXXXXX").string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data())) path_ = buffer.data();
}

ScratchFolder::~ScratchFolder() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

}  // namespace rapport::cli
