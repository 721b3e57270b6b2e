#pragma once
// What a model file is, from its bytes alone: the one place that tells a TorchScript
// archive from a torch.export archive from anything else. Reads the zip's central
// directory itself (no LibTorch), so every layer may ask: the model locator, the
// loaders, the pipeline's choice of loader.
#include <string>

namespace modelexport {

enum class ModelFileFormat {
  kTorchExport,  // a zip with models/<name>.json: torch.export.save
  kTorchScript,  // a zip with a code/ folder: torch.jit.save
  kOther,        // anything else, or a file that cannot be read (nonModelFileKind says what)
};

// Reads only the zip's directory. The archive is what PyTorch's reader opens: one top
// folder holding every record, a version record in it. An archive with both kinds of
// record is a torch.export one.
ModelFileFormat sniffModelFile(const std::string& path);

inline bool isTorchExportArchive(const std::string& path) {
  return sniffModelFile(path) == ModelFileFormat::kTorchExport;
}
inline bool isTorchScriptArchive(const std::string& path) {
  return sniffModelFile(path) == ModelFileFormat::kTorchScript;
}

// Whether the file begins as a zip does (a local file header), the first thing a loader
// checks before handing the file to LibTorch.
bool startsAsZip(const std::string& path);

// A record (its name below the archive's top folder) that holds a serialized
// ExportedProgram: models/<name>.json.
bool isTorchExportProgramRecord(const std::string& record);

// What a file that is no model archive (or one LibTorch could not load) holds, for the
// loaders' messages. Reads the file's bytes, so ask only once a load is refused.
enum class NonModelFileKind {
  kEmpty,                // no bytes, or none readable
  kTorchSaveCheckpoint,  // a zip with data.pkl and no code/ folder: torch.save
  kTruncatedZip,         // a zip without its end-of-archive record
  kZipWithoutCode,       // another zip: no code/ folder
  kTorchScriptLike,      // a zip that mentions a code/ folder: LibTorch's own error says more
  kPickle,               // the legacy torch.save format
  kProtobuf,             // ONNX or another protobuf
  kNotZip,               // anything else
};

NonModelFileKind nonModelFileKind(const std::string& path);

}  // namespace modelexport
