#pragma once
// Rebuilds the ONNX model from a hierarchical GraphML file, its .onnxdata and its
// _htp_metadata.json (the files written by graphml_writer.h).
#include <string>

#include <onnx/onnx_pb.h>

namespace modelexport {

// Throws UserError with one line naming the file and the problem for anything that is not
// a well-formed, complete document of this format (not XML, DOCTYPE/entity declarations,
// undeclared or missing keys, duplicate or dangling ids, missing files, byte ranges past
// the end of the data file, inconsistent indices).
onnx::ModelProto readHierarchicalGraphml(const std::string& graphmlPath);

}  // namespace modelexport
