using Onnx;

namespace Serverless.Inference.Optimization.Onnx;

/// <summary>
/// Lookups and additions a rewrite needs on one graph: initializers by name, the nodes that read a tensor,
/// fresh names that collide with nothing, the opsets the model imports.
/// </summary>
internal sealed class GraphEditor
{
    private readonly ModelProto _model;
    private readonly Dictionary<string, TensorProto> _initializers;
    private readonly HashSet<string> _names;
    private int _counter;

    public GraphEditor(ModelProto model)
    {
        _model = model;
        _initializers = model.Graph.Initializer.ToDictionary(tensor => tensor.Name, StringComparer.Ordinal);
        _names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in model.Graph.Node)
        {
            _names.Add(node.Name);
            _names.UnionWith(node.Input);
            _names.UnionWith(node.Output);
        }

        _names.UnionWith(model.Graph.Input.Select(input => input.Name));
        _names.UnionWith(model.Graph.Output.Select(output => output.Name));
        _names.UnionWith(_initializers.Keys);
    }

    public GraphProto Graph => _model.Graph;

    public TensorProto? Initializer(string name) => _initializers.GetValueOrDefault(name);

    public bool IsGraphOutput(string name) => _model.Graph.Output.Any(output => output.Name == name);

    /// <summary>The nodes that read a tensor, in graph order (computed on each call: the graph changes as a rewrite goes).</summary>
    public IReadOnlyList<NodeProto> Consumers(string tensor) => [.. _model.Graph.Node.Where(node => node.Input.Contains(tensor))];

    /// <summary>A name no tensor or node of the graph has yet.</summary>
    public string NewName(string hint)
    {
        var name = hint;
        while (!_names.Add(name))
        {
            name = $"{hint}_{++_counter}";
        }

        return name;
    }

    public void AddInitializer(TensorProto tensor)
    {
        _model.Graph.Initializer.Add(tensor);
        _initializers[tensor.Name] = tensor;
        _names.Add(tensor.Name);
    }

    /// <summary>Drops an initializer no node reads any more.</summary>
    public void RemoveInitializerIfUnused(string name)
    {
        if (_initializers.TryGetValue(name, out var tensor) && Consumers(name).Count == 0 && !IsGraphOutput(name))
        {
            _model.Graph.Initializer.Remove(tensor);
            _initializers.Remove(name);
            if (_model.Graph.Input.FirstOrDefault(input => input.Name == name) is { } input)
            {
                _model.Graph.Input.Remove(input);
            }
        }
    }

    public static NodeProto Node(string opType, string name, IEnumerable<string> inputs, IEnumerable<string> outputs, string domain = "")
    {
        var node = new NodeProto { OpType = opType, Name = name, Domain = domain };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        return node;
    }

    /// <summary>The version of an operator set the model imports (the default domain is ""), or 0 when it does not.</summary>
    public int OpsetVersion(string domain = "") =>
        (int)(_model.OpsetImport.FirstOrDefault(opset => opset.Domain == domain || (domain.Length == 0 && opset.Domain == "ai.onnx"))?.Version ?? 0);

    /// <summary>Imports a domain (e.g. ONNX Runtime's com.microsoft) at a version when the model does not yet.</summary>
    public void ImportOpset(string domain, int version)
    {
        if (OpsetVersion(domain) == 0)
        {
            _model.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = version });
        }
    }
}
