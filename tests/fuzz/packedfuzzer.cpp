// fuzz_packed: arbitrary bytes as a packed adapter (.lqa.h5, HDF5).
//
// Contract under test (packedfile.h): readPackedAdapter validates everything before returning
// and throws lq::Error naming the file on any problem; never a crash, hang, another exception
// type or an out-of-bounds read, including in what HDF5 itself is handed. For a file it
// accepts: every module dequantizes to finite factors of its declared shape (the scalar
// reference reads every code, scale and zero point), and the writer writes it back so that the
// reader gets the same modules and tensors again.

#include "core/io/error.h"
#include "core/packed/packedfile.h"
#include "core/packed/packedformat.h"
#include "fuzzinput.h"

#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>

namespace {

using lqfuzz::scratchFolder;

bool samePart(const lq::PackedVectors& a, const lq::PackedVectors& b)
{
    return a.scheme == b.scheme && a.bits == b.bits && a.count == b.count && a.length == b.length &&
           a.groupSize == b.groupSize && a.layout == b.layout && a.scaleFormat == b.scaleFormat &&
           a.codes == b.codes && a.scalesF16 == b.scalesF16 && a.scalesF32 == b.scalesF32 &&
           a.zeros == b.zeros;
}

void checkAccepted(const lq::PackedAdapter& adapter)
{
    for (const lq::PackedModule& module : adapter.modules) {
        const Eigen::MatrixXf B = lq::dequantizedB(module);
        const Eigen::MatrixXf A = lq::dequantizedA(module);
        if (B.rows() != module.m || B.cols() != module.r || A.rows() != module.r ||
            A.cols() != module.n)
            lqfuzz::violated("dequantized factors differ from the module's m, n, r");
        if (!B.allFinite() || !A.allFinite())
            lqfuzz::violated("an accepted module dequantizes to NaN or Inf");
    }

    const std::string path = scratchFolder() + "/write-back.lqa.h5";
    lq::PackedAdapter back;
    try {
        lq::writePackedAdapter(path, adapter);
        back = lq::readPackedAdapter(path);
    } catch (const lq::Error& e) {
        std::fprintf(stderr, "write-back failed: %s\n", e.what());
        lqfuzz::violated("the writer or the reader refused what the reader accepted");
    }
    if (back.modules.size() != adapter.modules.size() ||
        back.otherTensors.size() != adapter.otherTensors.size())
        lqfuzz::violated("write-back changed the module or tensor count");
    for (std::size_t i = 0; i < adapter.modules.size(); ++i) {
        const lq::PackedModule& a = adapter.modules[i];
        const lq::PackedModule& b = back.modules[i];
        if (a.name != b.name || a.m != b.m || a.n != b.n || a.r != b.r || a.h != b.h ||
            a.bitsHigh != b.bitsHigh || !samePart(a.bHigh, b.bHigh) ||
            !samePart(a.aHigh, b.aHigh) || !samePart(a.bLow, b.bLow) || !samePart(a.aLow, b.aLow))
            lqfuzz::violated("write-back changed a module");
    }
    for (std::size_t i = 0; i < adapter.otherTensors.size(); ++i) {
        const lq::TensorData& a = adapter.otherTensors[i];
        const lq::TensorData& b = back.otherTensors[i];
        if (a.name != b.name || a.dtype != b.dtype || a.shape != b.shape || a.bytes != b.bytes)
            lqfuzz::violated("write-back changed a non-LoRA tensor");
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string input = scratchFolder() + "/input.lqa.h5";
    lqfuzz::writeInputFile(input, data, size);
    lq::PackedAdapter adapter;
    try {
        adapter = lq::readPackedAdapter(input);
    } catch (const lq::Error& e) {
        if (std::getenv("LQ_FUZZ_VERBOSE")) // to see why a seed is refused
            std::fprintf(stderr, "refused: %s\n", e.what());
        if (e.file() != input || e.problem().empty())
            lqfuzz::violated("an error that does not name the file or the problem");
        return 0;
    }
    checkAccepted(adapter);
    return 0;
}
