/** Probability calibration: fitted on held-out predictions, stored with the model, applied by `Model.predict`. */
export { CALIBRATION_KINDS, checkCalibration, type CalibrationConfig, type CalibrationKind } from './config.js';
export { calibrateProbabilities } from './apply.js';
export { carryThreshold } from './threshold.js';
export { fitCalibration, fitTemperature, fitPlatt, MIN_TEMPERATURE, MAX_TEMPERATURE, type CalibrationFit } from './fit.js';
