#pragma once

#include "core/packed/packedformat.h"

#include <string>

namespace lq {

// Element type of the factors unpack writes.
enum class UnpackType
{
    F32,    // lossless: every dequantized value (q - z) d is exact in float32
    Source, // the source adapter's stored dtype per tensor (rounds when that is F16 or BF16;
            // a value beyond that dtype's range is an lq::Error, never Inf: see toStoredBytes)
};

// Writes the dequantized PEFT adapter of a packed file: `folder`/adapter_model.safetensors with
// lora_A = A_hat and lora_B = B_hat under the source's tensor names, module by module in the
// source's module order (A before B; the source's exact tensor order is not kept), then every
// non-LoRA tensor
// and the source's __metadata__ unchanged, and adapter_config.json as its original text (not at
// all when the source had none, and then an adapter_config.json already in the folder is
// removed). Both files are staged and take their names together; the folder is created. Refuses
// (lq::Error) to write where a file it would replace is `packedPath` itself or into the folder
// of the source adapter named in the packed file.
void writeUnpackedAdapter(const std::string& folder, const PackedAdapter& adapter,
                          const std::string& packedPath, UnpackType type = UnpackType::F32);

} // namespace lq
