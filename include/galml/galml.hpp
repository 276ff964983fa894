#pragma once
// Everything for building and training networks on the CPU. FITS I/O (galml/io/fits.hpp) and the
// CUDA backend (galml/backend/cuda/) are included separately because they need extra libraries.
#include "galml/core/parallel.hpp"
#include "galml/core/rng.hpp"
#include "galml/core/state_dict.hpp"
#include "galml/core/tensor.hpp"
#include "galml/graph/chain.hpp"
#include "galml/graph/model.hpp"
#include "galml/layers/activation.hpp"
#include "galml/layers/conv1d.hpp"
#include "galml/layers/dense.hpp"
#include "galml/layers/dropout.hpp"
#include "galml/layers/identity.hpp"
#include "galml/layers/pool1d.hpp"
#include "galml/layers/reshape.hpp"
#include "galml/layers/se_attention.hpp"
