#include "modelexport/opset_choice.h"

#include "modelexport/convert_context.h"
#include "modelexport/errors.h"

namespace modelexport {

OpsetChoice runAtChosenOpset(std::optional<int> given, const std::function<void(int opset)>& attempt) {
  OpsetChoice choice{given.value_or(kDefaultOpset), ""};
  for (;;) {
    try {
      attempt(choice.opset);
      return choice;
    } catch (const NewerOpsetNeeded& e) {
      // A need that is no higher would repeat the same failure; one past kMaxOpset is a
      // refusal of its own (requireOpset never raises that).
      if (given || e.opset() <= choice.opset || e.opset() > kMaxOpset) throw;
      choice = {e.opset(), e.reason()};
    }
  }
}

std::string opsetChoiceNote(const OpsetChoice& choice) {
  if (choice.reason.empty()) return "";
  return "modelexport: note: ONNX opset " + std::to_string(choice.opset) + " chosen (" + choice.reason +
         "); pass --opset-version to choose another";
}

}  // namespace modelexport
