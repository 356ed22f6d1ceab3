/**
 * The lab host images being built while the runner already serves: `npm start` builds the
 * default engine's images first and the other engines' in the background (scripts/start.ts), in
 * the runner's own process. Until one is built its engine is offered as `preparing`
 * (engine.ts, HealthStatus.engines), not missing. Nothing else is kept here.
 */
import type { Suite } from './names.ts';

const building = new Set<Suite>();

/** `suite`'s lab host images are being built (true) or no longer are (false), built or failed. */
export function setPreparing(suite: Suite, underWay: boolean): void {
  if (underWay) building.add(suite);
  else building.delete(suite);
}

/** Whether `suite`'s lab host images are being built in this process now. */
export const isPreparing = (suite: Suite): boolean => building.has(suite);
