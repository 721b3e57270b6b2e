#pragma once
// Field-by-field comparison of two models, for import-onnx --validate --reference.
#include <cstddef>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

namespace modelexport {

// One line per difference (at most `limit`), naming the field: "node 12 (/M/Add): input 1:
// 'a' vs 'b'". Empty when the graphs serialize to the same bytes and the model-level
// fields (IR version, opsets, producer, metadata) agree.
std::vector<std::string> modelDifferences(const onnx::ModelProto& expected, const onnx::ModelProto& actual,
                                          size_t limit = 20);

}  // namespace modelexport
