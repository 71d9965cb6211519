// Precompiled header shared by the torch-heavy libraries (see aha_torch_target in CMakeLists.txt).
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>
