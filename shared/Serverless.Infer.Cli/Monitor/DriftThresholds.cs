namespace Serverless.Infer.Cli.Monitor;

/// <summary>When a feature counts as drifted; one threshold passed is enough.</summary>
/// <param name="Psi">PSI above this (0.1 is a small change, 0.2 a significant one by the usual reading).</param>
/// <param name="Ks">Kolmogorov–Smirnov D above this (numbers and text lengths).</param>
/// <param name="ChiSquareP">Chi-square p-value below this (categories).</param>
/// <param name="CentroidCosine">Cosine between the baseline's and the current mean embedding below this.</param>
/// <param name="MinAccuracy">With labels: overall accuracy below this.</param>
internal sealed record DriftThresholds(double Psi = 0.2, double Ks = 0.1, double ChiSquareP = 0.01, double CentroidCosine = 0.95, double? MinAccuracy = null);
