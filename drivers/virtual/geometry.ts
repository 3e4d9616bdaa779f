// Pure 2-D geometry for the virtual world (REP 103: x forward, y left, angles CCW positive, degrees at the
// edges, radians inside).

export interface Pose {
  x: number;
  y: number;
  heading_deg: number;
}

export interface Bounds {
  minX: number;
  maxX: number;
  minY: number;
  maxY: number;
}

export interface Circle {
  x: number;
  y: number;
  radiusM: number;
}

const RAD = Math.PI / 180;

/** Into (-180, 180]. */
export function normalizeDeg(deg: number): number {
  const wrapped = ((((deg + 180) % 360) + 360) % 360) - 180;
  return wrapped === -180 ? 180 : wrapped;
}

/** Distance from (x, y) along `angleDeg` to the first wall or obstacle (Infinity if none). */
export function rayDistance(
  x: number,
  y: number,
  angleDeg: number,
  bounds: Bounds,
  obstacles: Circle[],
): number {
  const dx = Math.cos(angleDeg * RAD);
  const dy = Math.sin(angleDeg * RAD);
  let best = Number.POSITIVE_INFINITY;
  // Inside the box, the exit distance along each axis is the one in the direction of travel.
  if (dx > 1e-12) best = Math.min(best, (bounds.maxX - x) / dx);
  if (dx < -1e-12) best = Math.min(best, (bounds.minX - x) / dx);
  if (dy > 1e-12) best = Math.min(best, (bounds.maxY - y) / dy);
  if (dy < -1e-12) best = Math.min(best, (bounds.minY - y) / dy);
  for (const o of obstacles) {
    // Ray-circle intersection: |p + t·d - c|² = r², d unit.
    const fx = x - o.x;
    const fy = y - o.y;
    const b = fx * dx + fy * dy;
    const c = fx * fx + fy * fy - o.radiusM * o.radiusM;
    const disc = b * b - c;
    if (disc < 0) continue;
    const t = -b - Math.sqrt(disc);
    if (t >= 0) best = Math.min(best, t);
    else if (c < 0) best = 0; // already inside the obstacle
  }
  return Math.max(0, best);
}

/** Pose after driving `distance` m along the heading (negative = backwards). */
export function advance(pose: Pose, distance: number): Pose {
  return {
    x: pose.x + distance * Math.cos(pose.heading_deg * RAD),
    y: pose.y + distance * Math.sin(pose.heading_deg * RAD),
    heading_deg: pose.heading_deg,
  };
}

/** Turn angle (deg, CCW positive, shortest way) and distance from a pose to a point. */
export function bearingTo(pose: Pose, x: number, y: number): { turnDeg: number; distance: number } {
  const distance = Math.hypot(x - pose.x, y - pose.y);
  if (distance < 1e-9) return { turnDeg: 0, distance: 0 };
  const heading = Math.atan2(y - pose.y, x - pose.x) / RAD;
  return { turnDeg: normalizeDeg(heading - pose.heading_deg), distance };
}
