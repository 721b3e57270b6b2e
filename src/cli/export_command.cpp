#include <cctype>
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include "modelexport/cli_commands.h"
#include "modelexport/convert_context.h"
#include "modelexport/errors.h"
#include "modelexport/example_inputs.h"
#include "modelexport/export_report.h"
#include "modelexport/exporter.h"
#include "modelexport/input_resolution.h"
#include "modelexport/input_spec_parser.h"
#include "modelexport/libtorch_warnings.h"
#include "modelexport/model_file_inputs.h"
#include "modelexport/python_front_end.h"
#include "modelexport/temporary_file.h"

namespace modelexport::cli {

// The ONNX file and sidecar were written, the GraphML asked for by --with-graphml was not.
constexpr int kExitGraphmlFailed = 3;

// "input_ids:0=batch,1=sequence" -> {"input_ids": {0: "batch", 1: "sequence"}}.
std::map<std::string, std::map<int64_t, std::string>> parseDynamicAxes(const std::string& spec) {
  const auto bad = [&](const std::string& why) {
    return UserError("--dynamic-axes '" + spec + "': " + why + " (expected NAME:DIM=LABEL[,DIM=LABEL...])");
  };
  const auto colon = spec.find(':');
  if (colon == std::string::npos || colon == 0) throw bad("no input name");
  const std::string name = spec.substr(0, colon);
  std::map<int64_t, std::string> dims;
  std::stringstream rest(spec.substr(colon + 1));
  for (std::string item; std::getline(rest, item, ',');) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) throw bad("'" + item + "' is not DIM=LABEL");
    int64_t dim = 0;
    try {
      size_t used = 0;
      dim = std::stoll(item.substr(0, eq), &used);
      if (used != eq) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      throw bad("'" + item.substr(0, eq) + "' is not a dim number");
    }
    const std::string label = item.substr(eq + 1);
    for (char c : label)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') throw bad("label '" + label + "' must be letters, digits, _");
    dims[dim] = label;
  }
  if (dims.empty()) throw bad("no dims");
  return {{name, dims}};
}

namespace {

// Options of the Python front end's way in (a transformers model by name or directory).
struct FrontEndOptions {
  std::string task, python;
  bool taskGiven = false;
};

// A transformers model becomes a .pt2 by the front end; the text and shape it was
// given are in that program's recorded inputs, so they are not applied a second time.
InputRequest requestThroughFrontEnd(InputRequest request, const ModelLocation& location, const FrontEndOptions& front,
                                    const ExportOptions& options, nlohmann::json& frontEndReport) {
  FrontEndRequest frontEnd;
  frontEnd.model = request.modelNameOrPath;
  frontEnd.location = location;
  if (front.taskGiven) frontEnd.task = front.task;
  frontEnd.text = request.text;
  frontEnd.shape = request.shape;
  frontEnd.python = front.python;
  frontEnd.cacheDir = options.tempDir;
  frontEnd.verbose = options.verbose;
  const FrontEndProgram program = programFromFrontEnd(frontEnd, std::cerr);
  if (options.verbose && !program.reused)
    std::cerr << "[frontend] " << std::fixed << std::setprecision(3) << program.seconds << " s  " << program.path << "\n";
  frontEndReport = {{"python", program.python}, {"program", program.path}, {"reused", program.reused},
                    {"seconds", program.seconds}};
  request.modelNameOrPath = program.path;
  request.text.reset();
  request.shape.reset();
  return request;
}

// --temp-dir is made when missing (the seed's `--temp-dir ./temp_exports`).
void createTempDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (!std::filesystem::is_directory(dir, ec))
    throw UserError(dir + ": cannot create the --temp-dir directory" + (ec ? ": " + ec.message() : std::string()));
}

// The name a local model directory is known by, also when given as ".", "dir/" or "../dir".
std::string directoryName(const std::string& path) {
  std::filesystem::path dir = std::filesystem::absolute(path).lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();  // "/work/dir/" names "/work/dir"
  return dir.filename().string();
}

}  // namespace

Command addExportCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("export", kExportDescription);
  auto options = std::make_shared<ExportOptions>();
  auto shape = std::make_shared<std::string>("1,128");
  cmd->add_option("MODEL_NAME_OR_PATH", options->modelPath,
                  "A Hugging Face repo id (from the local cache; downloaded as transformers does unless "
                  "HF_HUB_OFFLINE is set), a transformers model directory (save_pretrained or a hub snapshot), "
                  "a TorchScript .pt file, a torch.export .pt2 archive, or a directory holding one")
      ->required();
  cmd->add_option("OUTPUT_PATH", options->outputPath, "ONNX file to write")->required();
  auto* shapeOption = cmd->add_option("--input-shape", *shape,
                                      "Shape of every tensor input, comma-separated (with text: the last "
                                      "dim is the sequence length, padded or truncated)")
                          ->capture_default_str();
  auto text = std::make_shared<std::string>();
  auto* textOption = cmd->add_option(
      "--input-text", *text,
      "Text tokenized with the model's tokenizer into input_ids, attention_mask, token_type_ids "
      "(default \"Hello world\" when the model's directory has a tokenizer)");
  auto specs = std::make_shared<std::string>();
  auto* specOption = cmd->add_option("--input-spec", *specs,
                                     "name:dtype:shape[,...], e.g. input_ids:int64:1x128 (dtypes float32, "
                                     "float16, int64, int32, bool); overrides inference for the inputs it names");
  cmd->add_option("--output-names", options->outputNames,
                  "Names of the ONNX outputs, comma-separated, one per output (tuples flattened); "
                  "default: the names of the returned TorchScript values")
      ->delimiter(',');
  auto dynamicAxes = std::make_shared<std::vector<std::string>>();
  cmd->add_option("--dynamic-axes", *dynamicAxes,
                  "NAME:DIM=LABEL[,DIM=LABEL...]: those input dims are symbolic in the ONNX file (e.g. "
                  "input_ids:0=batch,1=sequence); repeat for more inputs. Output dims that follow them get "
                  "their labels")
      ->take_all();
  auto dynamicBatch = std::make_shared<bool>(false);
  cmd->add_flag("--dynamic-batch", *dynamicBatch, "Dim 0 of every input is symbolic ('batch')");
  auto opset = std::make_shared<int>(kDefaultOpset);
  auto* opsetOption = cmd->add_option(
      "--opset-version", *opset,
      "ONNX opset (" + std::to_string(kMinOpset) + "-" + std::to_string(kMaxOpset) +
          "); default: " + std::to_string(kDefaultOpset) + ", or the lowest above it that the model's ops need (said "
          "in one line); given, a model that needs a newer opset is refused");
  cmd->add_option("--strategy", options->strategy, "Tagging strategy: htp or usage_based")->capture_default_str();
  cmd->add_option("--temp-dir", options->tempDir, "Directory for temporary files");
  cmd->add_flag("-v,--verbose", options->verbose, "Print each stage with its time");
  cmd->add_flag("--external-data", options->externalData,
                "Write weights to <OUTPUT_PATH>.data (automatic above 2 GB)");
  auto* attrs = cmd->add_flag("--hierarchy-attrs", options->hierarchyAttrs,
                "Also write stamps as node attributes (not valid ONNX; see validate --repair)");
  cmd->add_flag("--with-graphml", options->withGraphml,
                "Also write <stem>_hierarchical_graph.graphml (+ .onnxdata, _htp_metadata.json); "
                "exit code 3 when only the GraphML failed");
  cmd->add_flag("--no-hierarchy-attrs", options->noHierarchyStamps,
                "Leave the stamps off the ONNX nodes (hierarchy stays in node names, the sidecar and the GraphML)")
      ->excludes(attrs);
  auto front = std::make_shared<FrontEndOptions>();
  auto* taskOption = cmd->add_option(
      "--task", front->task,
      "transformers models: the task whose model class to export (feature-extraction, text-generation, fill-mask, "
      "text-classification, token-classification, question-answering, text2text-generation, image-classification, "
      "semantic-segmentation, automatic-speech-recognition, ...); default: the config's architectures");
  cmd->add_option("--python", front->python,
                  "transformers models: the Python (with torch and transformers) that loads and traces the model "
                  "(default: $MODELEXPORT_PYTHON, else the python beside this binary, else python3 on PATH)");
  cmd->add_flag("--with-report", options->withReport,
                "Also write <stem>_export_report.json: inputs and where they came from, module tree with node "
                "counts, stamp coverage, stage and front end timings");
  cmd->add_option("--dump-io", options->dumpIoDir,
                  "Write the example inputs and LibTorch's outputs to this directory (io.json)");
  return {cmd, [options, shape, shapeOption, text, textOption, specs, specOption, dynamicAxes, dynamicBatch, front,
               taskOption, opset, opsetOption]() {
    const auto start = std::chrono::steady_clock::now();
    const LibTorchWarningsToLog libTorchWarnings(options->verbose ? &std::cerr : nullptr);
    if (opsetOption->count()) options->opset = *opset;
    front->taskGiven = taskOption->count() > 0;
    for (const auto& spec : *dynamicAxes)
      for (const auto& [name, dims] : parseDynamicAxes(spec)) options->dynamicAxes[name].insert(dims.begin(), dims.end());
    if (*dynamicBatch) options->dynamicAxes["*"][0] = "batch";
    InputRequest request;
    request.modelNameOrPath = options->modelPath;
    if (textOption->count()) request.text = *text;
    if (shapeOption->count()) request.shape = parseShape(*shape);
    if (specOption->count()) request.specs = parseInputSpecs(*specs);
    ExportProvenance provenance;
    provenance.model = options->modelPath;
    const ModelLocation location = locateModel(options->modelPath);
    if (!options->tempDir.empty()) createTempDir(options->tempDir);
    if (location.needsFrontEnd) {
      request = requestThroughFrontEnd(request, location, *front, *options, provenance.frontEnd);
      // Not the cached program's hashed file name: the model the user named.
      options->sourceName = location.origin == "directory" ? directoryName(options->modelPath) : options->modelPath;
    } else if (front->taskGiven) {
      throw UserError(options->modelPath + ": --task applies to transformers models (a repo id or a directory with "
                      "config.json), not to a model file");
    }
    ModelFileInputs inputs = applyModelFileInputs(request, *options);
    provenance.program = std::move(inputs.program);
    provenance.inputsDescription = inputs.resolved.description;
    if (provenance.program.contains("source") && provenance.program["source"].contains("inputs_from"))
      provenance.inputsDescription = provenance.program["source"]["inputs_from"].get<std::string>();
    if (options->verbose) std::cerr << provenance.inputsDescription << "\n";
    ExportSummary summary;
    try {
      summary = exportModel(*options, std::cerr);
    } catch (const UserError& e) {
      // Errors name the file exported; through the front end that is a cached program,
      // so they name the model as the user typed it.
      const std::string what = e.what();
      if (provenance.frontEnd.is_null() || what.rfind(options->modelPath + ": ", 0) != 0) throw;
      throw UserError(provenance.model + ": " + what.substr(options->modelPath.size() + 2), e.detail());
    }
    if (options->withReport) {
      const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      writeFileAtomically(exportReportPath(options->outputPath),
                          buildExportReport(*options, summary, provenance, total).dump(2) + "\n", options->tempDir);
    }
    std::cout << "exported " << options->outputPath << ": " << summary.onnxNodes << " nodes, "
              << summary.stampedNodes << " stamped ("
              << (summary.onnxNodes ? 100.0 * summary.stampedNodes / summary.onnxNodes : 100.0)
              << "%), " << summary.modules << " modules; hierarchy in " << summary.sidecarPath << "\n";
    if (!summary.graphmlPath.empty()) std::cout << "graphml: " << summary.graphmlPath << "\n";
    if (options->withReport) std::cout << "report: " << exportReportPath(options->outputPath) << "\n";
    if (!summary.graphmlError.empty()) {
      std::cerr << "modelexport: error: GraphML not written (the ONNX file was): " << summary.graphmlError << "\n";
      return kExitGraphmlFailed;
    }
    return 0;
  }};
}

}  // namespace modelexport::cli
