#pragma once
// What a fuzz target accepts from a reader: a UserError (one line naming the file and
// the cause) is the right answer to bad bytes. Anything else escaping is a finding: the
// CLI would print an unclear message (or crash), so it aborts the run.
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "modelexport/errors.h"

namespace modelexport::fuzz {

template <typename Body>
void expectOnlyUserErrors(const char* what, Body&& body) {
  try {
    body();
  } catch (const UserError&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: not a UserError: %s\n", what, e.what());
    std::abort();
  }
}

}  // namespace modelexport::fuzz
