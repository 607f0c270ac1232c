/** At most `max` characters (code points, so no emoji is split), with an ellipsis when cut. */
export function cutText(text: string, max: number): string {
  const points = Array.from(text);
  return points.length <= max ? text : `${points.slice(0, max - 1).join("")}…`;
}
