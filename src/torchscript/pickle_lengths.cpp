#include "modelexport/pickle_lengths.h"

namespace modelexport {
namespace {

// How an opcode's argument is laid out (Python's pickletools: the opcode table).
enum class Arg { None, Fixed, Line, TwoLines, Counted };

struct OpcodeArg {
  Arg kind = Arg::None;
  unsigned width = 0;  // Fixed: bytes of the argument; Counted: bytes of the little-endian count
};

std::optional<OpcodeArg> argumentOf(unsigned char op) {
  switch (op) {
    // No argument.
    case '(': case '.': case '0': case '1': case '2': case 'N': case 'Q': case 'R':
    case 'a': case 'b': case 'd': case '}': case 'e': case 'l': case ']': case 'o':
    case 's': case 't': case ')': case 'u':
    case 0x81: case 0x85: case 0x86: case 0x87: case 0x88: case 0x89: case 0x8f:
    case 0x90: case 0x91: case 0x92: case 0x93: case 0x94: case 0x97: case 0x98:
      return OpcodeArg{Arg::None, 0};
    // Fixed-size arguments: ints, memo indices, a float, the protocol, extension codes,
    // the frame size.
    case 'K': case 'h': case 'q': case 0x80: case 0x82: return OpcodeArg{Arg::Fixed, 1};
    case 'M': case 0x83: return OpcodeArg{Arg::Fixed, 2};
    case 'J': case 'j': case 'r': case 0x84: return OpcodeArg{Arg::Fixed, 4};
    case 'G': case 0x95: return OpcodeArg{Arg::Fixed, 8};
    // Text up to a newline (protocol 0); GLOBAL and INST take two such lines.
    case 'F': case 'I': case 'L': case 'P': case 'S': case 'V': case 'g': case 'p':
      return OpcodeArg{Arg::Line, 0};
    case 'c': case 'i': return OpcodeArg{Arg::TwoLines, 0};
    // A count, then that many bytes: strings, bytes, long integers.
    case 'U': case 'C': case 0x8a: case 0x8c: return OpcodeArg{Arg::Counted, 1};
    case 'T': case 'X': case 'B': case 0x8b: return OpcodeArg{Arg::Counted, 4};
    case 0x8d: case 0x8e: case 0x96: return OpcodeArg{Arg::Counted, 8};
    default: return std::nullopt;
  }
}

uint64_t littleEndian(const unsigned char* p, unsigned width) {
  uint64_t value = 0;
  for (unsigned i = 0; i < width; ++i) value |= static_cast<uint64_t>(p[i]) << (8 * i);
  return value;
}

std::string at(uint64_t offset) { return " at byte " + std::to_string(offset); }

}  // namespace

std::optional<std::string> pickleLengthError(const unsigned char* data, uint64_t size) {
  uint64_t pos = 0;
  while (pos < size) {
    const uint64_t opcodeAt = pos;
    const unsigned char op = data[pos++];
    if (op == '.') return std::nullopt;  // STOP
    const std::optional<OpcodeArg> arg = argumentOf(op);
    if (!arg) return std::nullopt;
    const uint64_t left = size - pos;
    switch (arg->kind) {
      case Arg::None: break;
      case Arg::Fixed:
        if (arg->width > left) return "the pickle ends inside an opcode's argument" + at(opcodeAt);
        // LONG_BINPUT: the unpickler grows its memo table to the index; a pickle of n
        // bytes stores fewer than n values.
        if (const uint64_t index = op == 'r' ? littleEndian(data + pos, 4) : 0; index > size)
          return "a memo index of " + std::to_string(index) + at(opcodeAt) + " exceeds what a pickle of " +
                 std::to_string(size) + " bytes can hold";
        pos += arg->width;
        break;
      case Arg::Line:
      case Arg::TwoLines:
        for (int lines = arg->kind == Arg::Line ? 1 : 2; lines > 0; --lines) {
          while (pos < size && data[pos] != '\n') ++pos;
          if (pos == size) return "the pickle ends inside a line of text" + at(opcodeAt);
          ++pos;
        }
        break;
      case Arg::Counted: {
        if (arg->width > left) return "the pickle ends inside a length" + at(opcodeAt);
        const uint64_t count = littleEndian(data + pos, arg->width);
        pos += arg->width;
        // BINSTRING and LONG4 take a signed 4-byte count.
        if ((op == 'T' || op == 0x8b) && (count & 0x80000000u))
          return "a negative length" + at(opcodeAt);
        if (count > size - pos)
          return "a value of " + std::to_string(count) + " bytes" + at(opcodeAt) + " runs past the end (" +
                 std::to_string(size - pos) + " bytes follow)";
        pos += count;
        break;
      }
    }
  }
  return std::nullopt;
}

}  // namespace modelexport
