#pragma once
// Fuzz inputs laid out as files: the readers under test take paths, so each input is
// written into a scratch directory of this process (in /dev/shm when there is one).
#include <cstddef>
#include <cstdint>
#include <string>

namespace modelexport::fuzz {

// An empty directory for this process; its previous content is removed.
std::string freshScratchDir();

// Writes `data` as `name` into freshScratchDir() and returns the path.
std::string writeScratchFile(const std::string& name, const uint8_t* data, size_t size);

// A bundle holds several files: each line "%%file NAME\n" starts the file NAME (a plain
// name: letters, digits, '.', '_', '-'); bytes before the first such line go to
// `firstName`. Writes them into freshScratchDir() and returns the directory.
std::string writeScratchBundle(const uint8_t* data, size_t size, const std::string& firstName);

}  // namespace modelexport::fuzz
