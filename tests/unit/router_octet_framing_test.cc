// Syslog octet counting (octet_framing.h), as HAProxy's ring forwards lines.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "agent/router/octet_framing.h"

namespace keymux::router {
namespace {

std::vector<std::string> Feed(OctetFramer& framer, std::string_view bytes, bool ok = true) {
  std::vector<std::string> out;
  EXPECT_EQ(framer.feed(bytes, [&out](std::string_view m) { out.emplace_back(m); }), ok)
      << framer.error();
  return out;
}

TEST(OctetFramer, SplitsWholeFrames) {
  OctetFramer framer(100);
  EXPECT_EQ(Feed(framer, "5 hello3 abc"), (std::vector<std::string>{"hello", "abc"}));
  EXPECT_EQ(framer.buffered(), 0u);
}

TEST(OctetFramer, WaitsForFramesCutAnywhere) {
  const std::string stream = "12 keymux1 t=1\n7 keymux1";
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    OctetFramer framer(100);
    std::vector<std::string> got = Feed(framer, stream.substr(0, cut));
    for (const std::string& m : Feed(framer, stream.substr(cut))) got.push_back(m);
    EXPECT_EQ(got, (std::vector<std::string>{"keymux1 t=1\n", "keymux1"})) << cut;
  }
}

TEST(OctetFramer, RefusesBrokenFramesAndStaysBroken) {
  for (const std::string_view bad :
       {"x 12", "05 hello", " 5 hello", "5\thello", "101 ", "1234567890 "}) {
    OctetFramer framer(100);
    Feed(framer, bad, false);
    EXPECT_FALSE(framer.error().empty()) << bad;
    Feed(framer, "1 a", false);  // nothing after an error is read
  }
}

TEST(OctetFramer, BoundsTheBuffer) {
  OctetFramer framer(10);
  Feed(framer, "10 0123456789");
  Feed(framer, "11 ", false);
}

}  // namespace
}  // namespace keymux::router
