"""Pure tensor functions: losses and bounds, no state, no lightning."""
