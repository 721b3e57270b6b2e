#pragma once
// A check of a pickle's length-prefixed arguments before LibTorch's unpickler reads it:
// the unpickler allocates a string of the length a BINUNICODE or BINBYTES opcode states
// before it reads the bytes, so a damaged 100 KB file made it take 4 GB.
#include <cstdint>
#include <optional>
#include <string>

namespace modelexport {

// Walks the opcodes of a pickle (protocols 0-5) and describes the first argument whose
// stated length runs past the end of `size` bytes, one cut off by the end, or a memo
// index (LONG_BINPUT) larger than such a pickle can use (the unpickler sizes its memo
// table by it: 27 GB for one fuzzed index); nothing
// when every argument fits, or when the walk reaches STOP or an opcode it does not know
// (the unpickler then reports what it finds).
std::optional<std::string> pickleLengthError(const unsigned char* data, uint64_t size);

}  // namespace modelexport
