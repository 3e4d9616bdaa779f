/** @echogarden/rnnoise-wasm ships no types: the Emscripten module's members Sling uses. */
declare module '@echogarden/rnnoise-wasm' {
  export interface RnnoiseModule {
    HEAPF32: Float32Array;
    _malloc(bytes: number): number;
    _free(pointer: number): void;
    _rnnoise_get_frame_size(): number;
    /** `model` 0: the model compiled into the library. */
    _rnnoise_create(model: number): number;
    _rnnoise_destroy(state: number): void;
    /** Denoises one frame (48 kHz, 16-bit scale) from `input` into `output`; returns the frame's speech probability. */
    _rnnoise_process_frame(state: number, output: number, input: number): number;
  }
  const createModule: (options?: object) => Promise<RnnoiseModule>;
  export default createModule;
}
