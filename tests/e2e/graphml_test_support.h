#pragma once
// Helpers for the GraphML end-to-end tests.
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace modelexport::testing {

inline std::string fixtureCliArgs(const std::string& fixture) {
  std::ifstream in(std::string(MODELEXPORT_FIXTURE_DIR) + "/fixtures.json");
  nlohmann::json manifest = nlohmann::json::parse(in);
  std::string args;
  for (const auto& a : manifest.at(fixture).at("cli_args")) args += " " + shellQuote(a.get<std::string>());
  return args;
}

// Exports a fixture to DIR/<fixture>.onnx with the manifest's arguments plus `extraArgs`.
inline ProcessResult exportFixtureTo(const std::string& fixture, const std::string& dir, const std::string& extraArgs) {
  return runModelexport("export " + shellQuote(fixturePath(fixture)) + " " + shellQuote(dir + "/" + fixture + ".onnx") +
                        fixtureCliArgs(fixture) + " " + extraArgs);
}

// tests/tools/graphml_networkx_check.py GRAPHML ONNX (networkx, an independent reader, against
// the ONNX file). Answered by one Python process per test process that imports the script
// and runs its main() per request (networkx and onnx load once, not once per file); a
// check it does not answer with 0 runs again as its own process, whose exit status and
// whole output are returned.
inline ProcessResult networkxCheck(const std::string& graphmlPath, const std::string& onnxPath) {
  const std::string tools = std::string(MODELEXPORT_SOURCE_DIR) + "/tests/tools";
  // askServer's protocol: a request line of tab-separated fields, an answer "STATUS<TAB>TEXT".
  static const std::string server = R"(
import contextlib, io, sys
sys.path.insert(0, sys.argv[1])
import graphml_networkx_check as check
answers = sys.stdout
for line in sys.stdin:
    sys.argv = ["graphml_networkx_check.py"] + line.rstrip("\n").split("\t")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = check.main()
    text = printed.getvalue().strip().replace("\n", " ")
    answers.write(f"{status}\t{text}\n")
    answers.flush()
)";
  std::optional<ProcessResult> answer =
      askServer({MODELEXPORT_PYTHON, "-c", server, tools}, {graphmlPath, onnxPath});
  if (answer && answer->exitCode == 0) return *answer;
  return runCommand(std::string(MODELEXPORT_PYTHON) + " " + shellQuote(tools + "/graphml_networkx_check.py") + " " +
                    shellQuote(graphmlPath) + " " + shellQuote(onnxPath));
}

inline std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline void writeText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace modelexport::testing
