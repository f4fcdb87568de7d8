/** CPU time of this process (user + system) in milliseconds since `start()`. */
export function cpuMeter(): { stop(): number } {
  const start = process.cpuUsage();
  return {
    stop() {
      const used = process.cpuUsage(start);
      return (used.user + used.system) / 1000;
    },
  };
}
