/**
 * Lessons whose slug changed, old → new. Course v2 put four new chapters (DNS, Compose, IPv6,
 * host firewalls) where they fit and renumbered the files after them, so that a file's number is
 * its chapter's. The build writes a redirect page at each old URL (astro.config.mjs), so links
 * people published to the old chapters keep working. Exercise ids did not change, so learners'
 * passed exercises carry over.
 */
export const MOVED_LESSONS: Readonly<Record<string, string>> = {
  '07-overlay-networks': '10-overlay-networks',
  '08-macvlan': '11-macvlan',
  '09-drivers-plugins-ipam': '12-drivers-plugins-ipam',
  '10-network-security': '13-network-security',
  '11-troubleshooting': '15-troubleshooting',
};
