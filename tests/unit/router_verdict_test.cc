// classify(): whose fault an upstream answer is, from a table.
#include <gtest/gtest.h>

#include "agent/router/verdict.h"

namespace keymux::router {
namespace {

TEST(VerdictTest, Table) {
  const struct {
    int status;
    Verdict verdict;
  } kTable[] = {
      {200, Verdict::kSuccess},       {201, Verdict::kSuccess},
      {204, Verdict::kSuccess},       {429, Verdict::kKeyOutOfBudget},
      {401, Verdict::kKeyRevoked},    {403, Verdict::kKeyRevoked},
      {500, Verdict::kProviderFault}, {502, Verdict::kProviderFault},
      {503, Verdict::kProviderFault}, {504, Verdict::kProviderFault},
      {529, Verdict::kProviderFault}, {501, Verdict::kProviderFault},
      {599, Verdict::kProviderFault}, {0, Verdict::kProviderFault},
      {400, Verdict::kRequestFault},  {404, Verdict::kRequestFault},
      {408, Verdict::kRequestFault},  {409, Verdict::kRequestFault},
      {413, Verdict::kRequestFault},  {422, Verdict::kRequestFault},
      {100, Verdict::kRequestFault},  {302, Verdict::kRequestFault},
      {600, Verdict::kRequestFault},  {-1, Verdict::kRequestFault},
  };
  for (const auto& row : kTable) {
    EXPECT_EQ(classify(row.status), row.verdict) << row.status;
  }
}

TEST(VerdictTest, Names) {
  EXPECT_EQ(verdict_name(Verdict::kSuccess), "success");
  EXPECT_EQ(verdict_name(Verdict::kKeyOutOfBudget), "key_out_of_budget");
  EXPECT_EQ(verdict_name(Verdict::kKeyRevoked), "key_revoked");
  EXPECT_EQ(verdict_name(Verdict::kProviderFault), "provider_fault");
  EXPECT_EQ(verdict_name(Verdict::kRequestFault), "request_fault");
}

}  // namespace
}  // namespace keymux::router
