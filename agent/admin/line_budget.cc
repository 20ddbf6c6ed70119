#include "agent/admin/line_budget.h"

namespace keymux::admin {

bool LineBudget::allow(std::string_view subject, router::Time now, std::uint64_t& suppressed) {
  const std::int64_t second =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  std::lock_guard lock(mu_);
  if (slots_.size() >= kMaxSubjects) slots_.clear();
  Slot& slot = slots_[std::string(subject)];
  if (slot.second != second) {
    slot.second = second;
    slot.lines = 0;
  }
  if (slot.lines >= kLinesPerSecond) {
    ++slot.suppressed;
    return false;
  }
  ++slot.lines;
  suppressed = slot.suppressed;
  slot.suppressed = 0;
  return true;
}

}  // namespace keymux::admin
