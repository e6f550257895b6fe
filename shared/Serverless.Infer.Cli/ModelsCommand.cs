using Serverless.Inference;
using Serverless.Inference.Hosting;
using Serverless.Inference.Repository;
using Spectre.Console;

namespace Serverless.Infer.Cli;

internal static class ModelsCommand
{
    public static async Task<int> RunAsync(string repository, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(repository))
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] the model repository [bold]{repository}[/] does not exist");
            return 2;
        }

        var store = new LocalFolderModelStore(repository);
        using var host = new ModelHost(store, new ModelHostOptions());
        var failed = await ShowAsync(host, store.Description, loadModels: true, cancellationToken);
        return failed == 0 ? 0 : 1;
    }

    /// <summary>Prints one row per model, loading each to read its signature.</summary>
    /// <returns>The number of models that failed to load.</returns>
    public static async Task<int> ShowAsync(ModelHost host, string repository, bool loadModels, CancellationToken cancellationToken)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumns("[bold]model[/]", "[bold]versions[/]", "[bold]inputs[/]", "[bold]outputs[/]", "[bold]load[/]");
        var failed = 0;
        var statuses = await host.ListAsync(cancellationToken);
        foreach (var status in statuses)
        {
            var versions = string.Join(", ", status.Versions.Select(v => v == status.DefaultVersion ? $"{v}*" : v));
            if (!loadModels || status.Error is not null)
            {
                table.AddRow(Markup.Escape(status.Name), Markup.Escape(versions), "", "", status.Error is null ? "" : $"[red]{Markup.Escape(status.Error)}[/]");
                failed += status.Error is null ? 0 : 1;
                continue;
            }

            try
            {
                using var lease = await host.AcquireAsync(status.Name, null, cancellationToken);
                table.AddRow(
                    Markup.Escape(status.Name),
                    Markup.Escape(versions),
                    Markup.Escape(string.Join("\n", lease.Signature.Inputs)),
                    Markup.Escape(string.Join("\n", lease.Signature.Outputs)),
                    $"{lease.LoadReport.Total.TotalMilliseconds:F0} ms");
            }
            catch (InferenceException e)
            {
                failed++;
                table.AddRow(Markup.Escape(status.Name), Markup.Escape(versions), "", "", $"[red]{Markup.Escape(e.Message)}[/]");
            }
        }

        if (statuses.Count == 0)
        {
            AnsiConsole.MarkupLineInterpolated($"[yellow]The repository {repository} holds no models.[/]");
        }
        else
        {
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine("[grey]* default version[/]");
        }

        return failed;
    }
}
