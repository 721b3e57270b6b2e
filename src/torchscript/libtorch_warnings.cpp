#include "modelexport/libtorch_warnings.h"

#include <set>
#include <string>

#include <c10/util/Exception.h>

namespace modelexport {

class LibTorchWarningsToLog::Handler : public c10::WarningHandler {
 public:
  explicit Handler(std::ostream* log) : log_(log), previous_(c10::WarningUtils::get_warning_handler()) {}
  ~Handler() override { c10::WarningUtils::set_warning_handler(previous_); }

  void process(const c10::Warning& warning) override {
    if (!log_) return;
    const std::string& text = warning.msg();
    const std::string line = text.substr(0, text.find('\n'));
    if (seen_.insert(line).second) *log_ << "libtorch: warning: " << line << "\n";
  }

 private:
  std::ostream* log_;
  c10::WarningHandler* previous_;
  std::set<std::string> seen_;
};

LibTorchWarningsToLog::LibTorchWarningsToLog(std::ostream* verboseLog) : handler_(std::make_unique<Handler>(verboseLog)) {
  c10::WarningUtils::set_warning_handler(handler_.get());
}

LibTorchWarningsToLog::~LibTorchWarningsToLog() = default;

}  // namespace modelexport
