// Known answers for stories260K, from llama2.c itself (not from quantd).
//
// Source: karpathy/llama2.c run.c (commit 350e04f, the newest in the mirror), compiled with
// gcc -O3 and run on /work/shared/models/stories260K.bin + tok512.bin (bit-identical weights to
// stories260K.gguf, see the models README) at temperature 0:
//   ./run stories260K.bin -z tok512.bin -t 0 -n 200                       (kGreedyFromBos)
//   ./run stories260K.bin -z tok512.bin -t 0 -n 256 -i "Once upon a time" (kGreedyAfterPrompt)
// with run.c patched only to print each token id it samples. llama2.c feeds BOS (1), then the
// prompt; its encoder gave "Once upon a time" -> 1 403 407 261 378. The text is what run.c
// printed for the first run, which equals test_all.py's expected_stdout byte for byte.
#pragma once

#include <cstdint>

namespace quantd::llm::testing {

// The 200 tokens sampled after BOS in 200 steps.
inline constexpr int32_t kGreedyFromBos[] = {
    403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267,
    337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432, 358, 394, 261, 370,
    432, 352, 266, 268, 388, 426, 338, 391, 266, 267, 337, 335, 312, 432, 398, 312, 286, 267, 414,
    270, 333, 415, 426, 13, 438, 310, 439, 419, 357, 336, 432, 313, 438, 310, 432, 278, 316, 439,
    419, 298, 414, 267, 265, 282, 295, 433, 426, 436, 317, 286, 296, 418, 269, 279, 292, 416, 439,
    413, 409, 416, 327, 263, 415, 294, 267, 400, 426, 338, 336, 432, 313, 442, 391, 267, 337, 335,
    364, 420, 268, 388, 432, 398, 359, 280, 303, 439, 413, 272, 417, 264, 312, 426, 436, 13, 438,
    310, 286, 296, 418, 269, 279, 292, 416, 439, 413, 409, 416, 327, 263, 415, 294, 267, 400, 426,
    338, 336, 432, 313, 442, 439, 423, 262, 304, 420, 422, 432, 317, 426, 359, 279, 292, 416, 439,
    413, 409, 416, 327, 263, 415, 294, 267, 400, 426, 436, 13, 438, 310, 279, 292, 416, 439, 413,
    391, 267, 281, 421, 427, 311, 357, 432, 384, 358,
};

// The pieces of kGreedyFromBos, the leading space of the first dropped (llama2.c strips it after
// BOS).
inline constexpr char kGreedyFromBosText[] =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the p"
    "ark. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\n"
    "Lily's mom said, \"Lily, let's go to the park.\" Lily was sad and didn't know what to do. "
    "She said, \"I want to play with your ball, but I can't find it.\"\n"
    "Lily was sad and didn't know what to do. She said, \"I'm sorry, Lily. I didn't know what "
    "to do.\"\n"
    "Lily didn't want to help her mom, so she";

// The 252 tokens sampled after BOS + "Once upon a time" (4 tokens) in 256 steps.
inline constexpr int32_t kGreedyAfterPrompt[] = {
    432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410, 408, 419,
    292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432, 358, 394, 261, 370, 432, 352, 266, 268,
    388, 426, 338, 391, 266, 267, 337, 335, 312, 432, 398, 312, 286, 267, 414, 270, 333, 415, 426,
    13, 438, 310, 439, 419, 357, 336, 432, 313, 438, 310, 432, 278, 316, 439, 419, 298, 414, 267,
    265, 282, 295, 433, 426, 436, 317, 286, 296, 418, 269, 279, 292, 416, 439, 413, 409, 416, 327,
    263, 415, 294, 267, 400, 426, 338, 336, 432, 313, 442, 391, 267, 337, 335, 364, 420, 268, 388,
    432, 398, 359, 280, 303, 439, 413, 272, 417, 264, 312, 426, 436, 13, 438, 310, 286, 296, 418,
    269, 279, 292, 416, 439, 413, 409, 416, 327, 263, 415, 294, 267, 400, 426, 338, 336, 432, 313,
    442, 439, 423, 262, 304, 420, 422, 432, 317, 426, 359, 279, 292, 416, 439, 413, 409, 416, 327,
    263, 415, 294, 267, 400, 426, 436, 13, 438, 310, 279, 292, 416, 439, 413, 391, 267, 281, 421,
    427, 311, 357, 432, 384, 358, 336, 432, 313, 442, 439, 423, 262, 304, 420, 422, 432, 357, 426,
    359, 279, 292, 416, 439, 413, 409, 416, 327, 263, 415, 294, 267, 400, 426, 436, 320, 285, 357,
    336, 432, 313, 455, 289, 439, 413, 263, 304, 420, 422, 432, 317, 426, 410, 448, 411, 280, 303,
    281, 421, 427, 364, 426,
};

}  // namespace quantd::llm::testing
