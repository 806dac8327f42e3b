// The self-test's report as a JSON document (for scripts and the service's /health). Apart from selftest.h so the
// engine-facing API carries no JSON type.
#pragma once

#include <nlohmann/json.hpp>

#include "selftest/selftest.h"

namespace hclip::selftest {

nlohmann::json report_to_json(const SelfTestReport& report);

}  // namespace hclip::selftest
