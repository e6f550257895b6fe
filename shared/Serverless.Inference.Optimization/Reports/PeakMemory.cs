using System.Globalization;

namespace Serverless.Inference.Optimization.Reports;

/// <summary>
/// The process's resident memory as Linux reports it in /proc/self/status: VmRSS now, VmHWM the peak since start or
/// since the peak was reset (writing "5" to /proc/self/clear_refs, Linux 4.0+). Null figures elsewhere.
/// </summary>
internal static class PeakMemory
{
    public const string Description = "peak resident set (VmHWM) while loading the model and running every sample and latency batch, after resetting it through /proc/self/clear_refs; growth is that peak less the resident set at the start";

    /// <summary>Starts a new peak at the current resident set; false where the system offers no way to.</summary>
    public static bool TryReset()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>A "Vm..." line of /proc/self/status in bytes, or null.</summary>
    public static long? Read(string field)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                // "VmHWM:	  123456 kB"
                if (line.StartsWith(field + ":", StringComparison.Ordinal)
                    && long.TryParse(line.AsSpan(field.Length + 1).Trim().TrimEnd("kB").Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var kilobytes))
                {
                    return kilobytes * 1024;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return null;
    }
}
