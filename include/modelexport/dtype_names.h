#pragma once
// The names users write and read for LibTorch dtypes (--input-spec, --dump-io's io.json).
#include <c10/core/ScalarType.h>

namespace modelexport {

const char* dtypeName(at::ScalarType type);  // "float32", "int64", ...; "unknown" for others

}  // namespace modelexport
