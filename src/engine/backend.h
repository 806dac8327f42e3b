// A backend serves one or both encoder towers (engine/encoder.h). Backends register a factory and a probe in the
// BackendRegistry (backend_registry.h); ClipEngine::open picks and opens them. The engine knows only this
// interface: backends depend on the engine, never the reverse.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/status.h"
#include "engine/backend_options.h"
#include "engine/encoder.h"
#include "model/clip_model.h"

namespace hclip {

// Which towers a backend is opened for.
struct TowerSet {
    bool image = false;
    bool text = false;
};

// Everything a backend may need to open.
struct BackendContext {
    std::shared_ptr<const ClipModel> model;
    TowerSet towers;
    int max_batch = 1;  // the engine's batch (a backend may serve less per call)
    const HailoOptions* hailo = nullptr;
    const EngineLog* log = nullptr;
};

// Can this backend serve in this program? A cheap check that opens no device.
struct BackendProbe {
    bool available = false;
    std::string reason;  // why not, with the fix where there is one
    // A "no" that only guesses (no Hailo device node, say): `auto` passes the backend by, but a backend chosen by
    // name is opened anyway, so its own runtime gives the precise reason (HailoRT's device scan).
    bool guess = false;
};

// Whether an opened backend can serve right now (a lost NPU is being reopened).
struct BackendState {
    bool ready = true;
    std::string reason;
};

// One opened backend. Shared by the engine and every encoder session it made; thread-safe.
class Backend {
  public:
    virtual ~Backend() = default;
    // The name reported for the towers it serves: "cpu", "hailo", or "hailo-emulated" for a test double.
    virtual std::string name() const = 0;
    // One line for the start-up log ("Hailo-10H via HailoRT 5.2.0, group SHARED").
    virtual std::string description() const = 0;
    // Per-worker sessions; only for the towers the backend was opened for.
    virtual Result<std::unique_ptr<ImageEncoder>> create_image_encoder() = 0;
    virtual Result<std::unique_ptr<TextEncoder>> create_text_encoder() = 0;
    virtual BackendState state() const { return {}; }
};

struct BackendFactory {
    std::string name;  // what users write: "cpu", "hailo"
    std::function<BackendProbe()> probe;
    std::function<Result<std::shared_ptr<Backend>>(const BackendContext&)> open;
};

}  // namespace hclip
