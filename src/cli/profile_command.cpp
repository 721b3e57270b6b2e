#include <iostream>

#include "modelexport/cli_commands.h"
#include "modelexport/hierarchy_reader.h"
#include "modelexport/model_writer.h"
#include "modelexport/output_paths.h"
#include "modelexport/report_csv.h"
#include "modelexport/report_json.h"
#include "modelexport/report_text.h"
#include "modelexport/runtime_profile.h"

namespace modelexport::cli {

namespace {
struct ProfileCommandOptions {
  std::string onnxPath;
  std::string profilePath;
  std::string format = "text";
  std::string filterTag;
  std::string outputFile;
  size_t top = 10;
};
}  // namespace

Command addProfileCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("profile", "Time per module from an onnxruntime profile of an ONNX file");
  auto o = std::make_shared<ProfileCommandOptions>();
  cmd->add_option("ONNX_PATH", o->onnxPath,
                  "The profiled ONNX file, or the file it came from (stamps or scoped node names)")
      ->required();
  cmd->add_option("PROFILE_JSON", o->profilePath,
                  "onnxruntime profile (SessionOptions.enable_profiling; the path end_profiling() returns)")
      ->required();
  cmd->add_option("--output-format", o->format, "text, json or csv (one row per module)")
      ->check(CLI::IsMember({"text", "json", "csv"}))
      ->capture_default_str();
  cmd->add_option("--filter-tag", o->filterTag, "Only this module and its descendants (tag prefix by segment)");
  cmd->add_option("--top", o->top, "Entries of the slowest modules and op types lists")->capture_default_str();
  cmd->add_option("--output-file", o->outputFile, "Write the report here instead of stdout");
  return {cmd, [o]() {
    refuseOutputsOverInputs({o->outputFile}, {o->onnxPath, o->profilePath});
    onnx::ModelProto model = readModel(o->onnxPath);
    const ModelHierarchy hierarchy = readHierarchy(model.graph());
    const RuntimeProfile profile = readRuntimeProfile(o->profilePath);
    ProfileOptions options;
    options.filterTag = o->filterTag;
    options.top = o->top;
    options.modelLabel = o->onnxPath;
    options.profileLabel = o->profilePath;
    const ProfileReport report = buildProfileReport(model, hierarchy, profile, options);
    std::string text;
    if (o->format == "json") text = jsonReportText(toJson(report));
    else if (o->format == "csv") text = renderProfileCsv(report);
    else text = renderProfileText(report);
    printOrWriteReport(text, o->outputFile, o->format);
    return 0;
  }};
}

}  // namespace modelexport::cli
